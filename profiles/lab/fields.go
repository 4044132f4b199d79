package lab

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"

	"lite/profiles"
)

var (
	labNameRe  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,11}$`)
	netNameRe  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,14}$`)
	groupRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,62}$`)
	packageRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]{1,62}$`)
	userRe     = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	domainRe   = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
	durationRe = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(us|ms|s)$`)
	percentRe  = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?%$`)
	rateRe     = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(bit|kbit|mbit|gbit)$`)
)

func checkLabName(s string) error {
	if !labNameRe.MatchString(s) || strings.HasSuffix(s, "-") {
		return fmt.Errorf("%q is not a lab name (lowercase letters, digits and dashes, starting with a letter, at most 12 characters)", s)
	}
	return nil
}

func checkNetName(s string) error {
	if !netNameRe.MatchString(s) || strings.HasSuffix(s, "-") {
		return fmt.Errorf("%q is not a network name (lowercase letters, digits and dashes, starting with a letter, at most 15 characters)", s)
	}
	return nil
}

// checkImpair checks one netem parameter as tc takes it.
func checkImpair(key, v string) error {
	switch key {
	case "delay", "jitter":
		if !durationRe.MatchString(v) {
			return fmt.Errorf("%q is not a duration (examples: 20ms, 1.5s, 500us)", v)
		}
	case "loss":
		f, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
		if !percentRe.MatchString(v) || err != nil || f > 100 {
			return fmt.Errorf("%q is not a percentage from 0%% to 100%% (example: 1%%)", v)
		}
	case "rate":
		if !rateRe.MatchString(v) {
			return fmt.Errorf("%q is not a rate (examples: 10mbit, 512kbit, 1gbit)", v)
		}
	}
	return nil
}

// checkFile checks one files: entry that needs nothing but itself.
func (r *reader) checkFile(f File, at Pos, p string) {
	if f.Source == "" {
		r.add(at, join(p, "source"), "required: the host file to copy")
	}
	if err := profiles.IsAbsPath(f.Path); err != nil || f.Path == "" || path.Clean(f.Path) != f.Path || f.Path == "/" {
		r.add(at, join(p, "path"), "%q is not a clean absolute file path in the node (example: /etc/app/app.conf)", f.Path)
	}
	if err := profiles.IsFileMode(f.Mode); err != nil {
		r.add(at, join(p, "mode"), "%v", err)
	}
}

// bridgeNet parses a network's ipv4: a host address with a prefix, as on the bridge.
func bridgeNet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil || !p.Addr().Is4():
		return netip.Prefix{}, fmt.Errorf("%q is not auto, none or the bridge's IPv4 address with a prefix length (example: 10.10.1.1/24)", s)
	case p.Bits() < 8 || p.Bits() > 30:
		return netip.Prefix{}, fmt.Errorf("%q: the prefix length must be from 8 to 30", s)
	case p.Addr() == p.Masked().Addr() || p.Addr() == lastAddr(p):
		return netip.Prefix{}, fmt.Errorf("%q: the bridge needs a host address, not the network's first or last address (example: %s/%d)", s, p.Masked().Addr().Next(), p.Bits())
	}
	return p, nil
}

// lastAddr is the broadcast address of an IPv4 prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// addOffset returns a+n, or false when it leaves IPv4.
func addOffset(a netip.Addr, n int) (netip.Addr, bool) {
	for i := 0; i < n; i++ {
		a = a.Next()
		if !a.IsValid() || !a.Is4() {
			return a, false
		}
	}
	return a, true
}

// hostAddrIn says why addr cannot be a node's address on network p with gateway gw, or "".
func hostAddrIn(a netip.Addr, p netip.Prefix) string {
	switch {
	case !p.Contains(a):
		return fmt.Sprintf("%s is outside the network's subnet %s", a, p.Masked())
	case a == p.Addr():
		return fmt.Sprintf("%s is the bridge's own address", a)
	case a == p.Masked().Addr() || a == lastAddr(p):
		return fmt.Sprintf("%s is the subnet's network or broadcast address", a)
	}
	return ""
}

// checkSpec checks the NodeSpec fields of one node or of the defaults.
func (r *reader) checkSpec(s NodeSpec, at map[string]Pos, path string) {
	for _, p := range s.Packages {
		if !packageRe.MatchString(p) {
			r.add(at["packages"], join(path, "packages"), "%q is not a Debian package name", p)
		}
	}
	for _, p := range s.Profiles {
		if err := profiles.ValidateProfileName(p); err != nil {
			r.add(at["profiles"], join(path, "profiles"), "%v", err)
		}
	}
	for k, v := range s.Config {
		if k == LabKey {
			r.add(at["config"], join(path, "config."+k), "%s is set by lite to the lab's name", LabKey)
			continue
		}
		if err := profiles.ValidateInstanceKey(k, v, true); err != nil {
			r.add(at["config"], join(path, "config."+k), "%v", err)
		}
	}
	for _, k := range s.SSHKeys {
		if strings.TrimSpace(k) == "" {
			r.add(at["ssh_keys"], join(path, "ssh_keys"), "an empty ssh key file name")
		}
	}
	if s.User != "" && (!userRe.MatchString(s.User) || s.User == "root") {
		r.add(at["user"], join(path, "user"), "%q is not a user name to create (lowercase letters, digits, '_' and '-', not root)", s.User)
	}
	if _, ok := at["target"]; ok {
		if err := profiles.ValidateMemberName(s.Target); err != nil {
			r.add(at["target"], join(path, "target"), "%q is not a cluster member name (lowercase letters, digits and dashes)", s.Target)
		}
	}
	if _, ok := at["image"]; ok && strings.TrimSpace(s.Image) == "" {
		r.add(at["image"], join(path, "image"), "an empty image name (example: debian/12)")
	}
}
