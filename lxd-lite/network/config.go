// Package network runs lite's managed bridge networks: the bridge (through netutil), one
// dnsmasq per bridge for DHCP and DNS, and the NAT/forwarding rules in lite's own nftables
// table. Networks are rows in SQLite; after a restart lited adopts or rebuilds what it finds.
package network

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"lite/client/api"
	"lite/profiles"
)

// DefaultDomain is the DNS domain of a network without dns.domain.
const DefaultDomain = "lite"

// networkKeys are the keys a bridge network takes (LXD's names and meanings).
var networkKeys = map[string]profiles.Validator{
	"ipv4.address":     isIPv4Address,
	"ipv4.nat":         profiles.Optional(profiles.IsBool),
	"ipv4.dhcp":        profiles.Optional(profiles.IsBool),
	"ipv4.dhcp.ranges": profiles.Optional(isRangesSyntax),
	"dns.domain":       profiles.Optional(isDomain),
	"bridge.mtu":       profiles.Optional(profiles.IsUintRange(1280, 9000)),
	"ipv6.address":     profiles.Optional(profiles.IsOneOf("none")),
	"ipv4.dhcp.expiry": profiles.Optional(isDuration),
	// The UDP port of the VXLAN tunnels that join the members' bridges in a cluster.
	"vxlan.port": profiles.Optional(profiles.IsUintRange(1, 65535)),
}

func isIPv4Address(v string) error {
	if v == "" || v == "auto" || v == "none" {
		return nil
	}
	_, err := ParseGateway(v)
	return err
}

// ParseGateway reads ipv4.address: the bridge's own address with the subnet's prefix length
// (10.77.5.1/24). The subnet must have room for clients: /8 to /30.
func ParseGateway(v string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(v)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 address with a prefix length (example: 10.77.5.1/24)", v)
	}
	if p.Bits() < 8 || p.Bits() > 30 {
		return netip.Prefix{}, fmt.Errorf("%q: the prefix length must be from 8 to 30", v)
	}
	if p.Addr() == p.Masked().Addr() {
		return netip.Prefix{}, fmt.Errorf("%q is the subnet's own address; give the gateway's (example: %s)", v, netip.PrefixFrom(p.Addr().Next(), p.Bits()))
	}
	if p.Addr() == lastAddr(p) {
		return netip.Prefix{}, fmt.Errorf("%q is the subnet's broadcast address", v)
	}
	if a := p.Addr(); a.IsLoopback() || a.IsMulticast() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
		return netip.Prefix{}, fmt.Errorf("%q is not a usable unicast address", v)
	}
	return p, nil
}

var durationRe = regexp.MustCompile(`^[0-9]+[smhd]?$`)

func isDuration(v string) error {
	if v != "infinite" && !durationRe.MatchString(v) {
		return fmt.Errorf("%q is not a lease time (examples: 1h, 30m, 3600, infinite)", v)
	}
	return nil
}

var labelRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func isDomain(v string) error {
	if len(v) > 253 {
		return fmt.Errorf("%q is too long for a domain", v)
	}
	for _, l := range strings.Split(v, ".") {
		if !labelRe.MatchString(l) {
			return fmt.Errorf("%q is not a domain name (lower-case labels of letters, digits and '-')", v)
		}
	}
	return nil
}

// Range is an inclusive range of addresses dnsmasq hands out.
type Range struct{ Start, End netip.Addr }

// Size is how many addresses r holds.
func (r Range) Size() int {
	s, e := r.Start.As4(), r.End.As4()
	return int(binary.BigEndian.Uint32(e[:])-binary.BigEndian.Uint32(s[:])) + 1
}

func isRangesSyntax(v string) error { _, err := ParseRanges(v); return err }

// ParseRanges reads ipv4.dhcp.ranges: "10.0.0.10-10.0.0.50[,A-B...]".
func ParseRanges(v string) ([]Range, error) {
	var out []Range
	for _, part := range strings.Split(v, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(part), "-")
		s, err1 := netip.ParseAddr(strings.TrimSpace(a))
		e, err2 := netip.ParseAddr(strings.TrimSpace(b))
		if !ok || err1 != nil || err2 != nil || !s.Is4() || !e.Is4() || e.Less(s) {
			return nil, fmt.Errorf("%q is not a list of IPv4 ranges (example: 10.77.5.10-10.77.5.99)", v)
		}
		out = append(out, Range{s, e})
	}
	return out, nil
}

// ValidateName checks a network name: it is also the bridge's interface name.
func ValidateName(name string) error {
	if name == "" || len(name) > 15 {
		return fmt.Errorf("network name %q must have 1 to 15 characters (it names the bridge): %w", name, api.ErrInvalid)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || (i > 0 && (r == '-' || r == '_'))
		if !ok {
			return fmt.Errorf("network name %q: use letters, digits, '-' and '_', starting with a letter or digit: %w", name, api.ErrInvalid)
		}
	}
	return nil
}

// ValidateConfig checks every key of a network's config against the table, then the keys
// that depend on each other (ranges inside the subnet).
func ValidateConfig(cfg map[string]string) error {
	for k, v := range cfg {
		// Values reach dnsmasq's config, where a newline would start a directive of its own.
		for _, text := range []string{k, v} {
			if err := profiles.IsSingleLine(text); err != nil {
				return fmt.Errorf("network config key %q: %v: %w", k, err, api.ErrInvalid)
			}
		}
		if strings.HasPrefix(k, "user.") && len(k) > len("user.") {
			continue
		}
		val, ok := networkKeys[k]
		if !ok {
			return fmt.Errorf("unknown network config key %q: %w", k, api.ErrInvalid)
		}
		if err := val(v); err != nil {
			return fmt.Errorf("network config key %q: %v: %w", k, err, api.ErrInvalid)
		}
	}
	if r := cfg["ipv4.dhcp.ranges"]; r != "" {
		gw, err := ParseGateway(cfg["ipv4.address"])
		if err != nil {
			return fmt.Errorf("ipv4.dhcp.ranges needs an ipv4.address subnet: %w", api.ErrInvalid)
		}
		ranges, _ := ParseRanges(r)
		for _, rg := range ranges {
			if !gw.Contains(rg.Start) || !gw.Contains(rg.End) {
				return fmt.Errorf("ipv4.dhcp.ranges %s-%s is not inside %s: %w", rg.Start, rg.End, gw.Masked(), api.ErrInvalid)
			}
		}
	}
	return nil
}

// Settings are a network's effective values, defaults applied.
type Settings struct {
	Gateway netip.Prefix // invalid when ipv4.address is none
	NAT     bool
	DHCP    bool
	Ranges  []Range
	Domain  string
	MTU     int
	Expiry  string
	// VXLANPort is the tunnels' UDP port in a cluster.
	VXLANPort int
	// Cluster: this member is one of a cluster (set by the manager, not by the config).
	Cluster bool
}

// SettingsOf reads a validated config.
func SettingsOf(cfg map[string]string) Settings {
	s := Settings{Domain: DefaultDomain, DHCP: true, Expiry: "1h", VXLANPort: DefaultVXLANPort}
	if gw, err := ParseGateway(cfg["ipv4.address"]); err == nil {
		s.Gateway = gw
	}
	s.NAT = profiles.IsTrue(cfg["ipv4.nat"])
	if v, ok := cfg["ipv4.dhcp"]; ok && v != "" {
		s.DHCP = profiles.IsTrue(v)
	}
	if d := cfg["dns.domain"]; d != "" {
		s.Domain = d
	}
	if m, err := strconv.Atoi(cfg["bridge.mtu"]); err == nil {
		s.MTU = m
	}
	if p, err := strconv.Atoi(cfg["vxlan.port"]); err == nil {
		s.VXLANPort = p
	}
	if e := cfg["ipv4.dhcp.expiry"]; e != "" {
		s.Expiry = e
	}
	if s.Gateway.IsValid() {
		if r, err := ParseRanges(cfg["ipv4.dhcp.ranges"]); err == nil && cfg["ipv4.dhcp.ranges"] != "" {
			s.Ranges = r
		} else {
			s.Ranges = []Range{{firstHost(s.Gateway), lastAddr(s.Gateway).Prev()}}
		}
	}
	return s
}

// firstHost is the first client address: the one after the gateway when the gateway is the
// subnet's first, else the subnet's first.
func firstHost(gw netip.Prefix) netip.Addr {
	a := gw.Masked().Addr().Next()
	if a == gw.Addr() {
		a = a.Next()
	}
	return a
}

// lastAddr is a subnet's broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Overlapper says what on the host (or in lite's other networks) overlaps a subnet; "" = nothing.
type Overlapper func(p netip.Prefix) (string, error)

// PickSubnet chooses a free /24 in 10.0.0.0/8 and returns its gateway (.1/24). It starts at
// a random /24 so two daemons created at once rarely race for the same one.
func PickSubnet(overlaps Overlapper, rnd *rand.Rand) (netip.Prefix, error) {
	start := rnd.IntN(1 << 16)
	for i := 0; i < 1<<16; i++ {
		n := (start + i) % (1 << 16)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n >> 8), byte(n), 0}), 24)
		what, err := overlaps(p)
		if err != nil {
			return netip.Prefix{}, err
		}
		if what == "" {
			return netip.PrefixFrom(p.Addr().Next(), 24), nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free /24 left in 10.0.0.0/8: %w", api.ErrConflict)
}
