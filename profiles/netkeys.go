package profiles

import (
	"fmt"
	"net/netip"
	"regexp"
)

var macRe = regexp.MustCompile(`^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$`)

// IsMAC accepts a MAC address like 00:16:3e:12:34:56.
func IsMAC(v string) error {
	if !macRe.MatchString(v) {
		return fmt.Errorf("%q is not a MAC address (example: 00:16:3e:12:34:56)", v)
	}
	return nil
}

// IsIPv4 accepts one IPv4 address without a prefix length.
func IsIPv4(v string) error {
	a, err := netip.ParseAddr(v)
	if err != nil || !a.Is4() {
		return fmt.Errorf("%q is not an IPv4 address (example: 10.77.5.10)", v)
	}
	return nil
}

var ifnameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$`)

// IsInterfaceName accepts a network interface name (at most 15 characters).
func IsInterfaceName(v string) error {
	if !ifnameRe.MatchString(v) {
		return fmt.Errorf("%q is not an interface name (1 to 15 letters, digits, '-', '_' or '.')", v)
	}
	return nil
}
