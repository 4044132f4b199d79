package network

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"

	"lite/client/api"
	"lite/lxd-lite/netutil"
	"lite/profiles"
)

// NICFilter is what a nic may send from, on the host end of its veth (LXD's
// security.mac_filtering and security.ipv4_filtering).
type NICFilter struct {
	HostName string     // the host end of the veth: frames entering the bridge from it are checked
	MAC      string     // the only source MAC allowed ("": any, security.mac_filtering=false)
	IPv4     netip.Addr // invalid: any source IPv4 (no IPv4 filtering)
}

// ifnameRe is what Linux and the profiles validator accept as an interface name; nothing else
// reaches an nft script.
var ifnameRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,15}$`)

// bareRe is what may stand in an nft identifier unquoted.
var bareRe = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// chainName is the nic's chain: letters and digits kept, anything else hex-encoded so the name
// is always a bare nft identifier.
func chainName(host string) string {
	if bareRe.MatchString(host) {
		return "nic_" + host
	}
	return "nic_x" + hex.EncodeToString([]byte(host))
}

// bridgeTableHead declares the bridge table, its verdict map and its one base chain, whose only
// rule sends every frame from a filtered veth to that veth's chain. Re-declaring is a no-op and
// the base chain is flushed and refilled in the same transaction: no duplicates, ever.
func (f *Firewall) bridgeTableHead() string {
	t := "bridge " + f.Table
	return fmt.Sprintf("add table %[1]s\nadd map %[1]s nics { type ifname : verdict; }\n"+
		"add chain %[1]s prerouting { type filter hook prerouting priority filter; policy accept; }\n"+
		"flush chain %[1]s prerouting\nadd rule %[1]s prerouting iifname vmap @nics\n", t)
}

// RenderFilter returns the nft script that installs (or replaces) the rules of one nic; with
// head it first declares the table, its map and its base chain (see FilterNIC).
func (f *Firewall) RenderFilter(nf NICFilter, head bool) (string, error) {
	if !ifnameRe.MatchString(nf.HostName) {
		return "", fmt.Errorf("nic filter: bad host interface name %q: %w", nf.HostName, api.ErrInvalid)
	}
	var mac net.HardwareAddr
	if nf.MAC != "" {
		var err error
		if mac, err = net.ParseMAC(nf.MAC); err != nil || len(mac) != 6 {
			return "", fmt.Errorf("nic filter: bad MAC %q: %w", nf.MAC, api.ErrInvalid)
		}
	}
	if nf.IPv4.IsValid() && !nf.IPv4.Is4() {
		return "", fmt.Errorf("nic filter: %s is not an IPv4 address: %w", nf.IPv4, api.ErrInvalid)
	}
	t, c := "bridge "+f.Table, chainName(nf.HostName)
	var b strings.Builder
	if head {
		b.WriteString(f.bridgeTableHead())
	}
	fmt.Fprintf(&b, "add chain %s %s\nflush chain %s %s\n", t, c, t, c)
	rule := func(r string) { fmt.Fprintf(&b, "add rule %s %s %s\n", t, c, r) }
	if mac != nil {
		rule("ether saddr != " + mac.String() + " drop")
		rule("arp saddr ether != " + mac.String() + " drop")
	}
	if mac != nil || nf.IPv4.IsValid() {
		// A container is never the network's DHCP server or IPv6 router: its offers and router
		// advertisements would hand its neighbours a gateway and DNS server of its choosing.
		rule("udp sport 67 udp dport 68 drop")
		rule("icmpv6 type nd-router-advert drop")
	}
	if nf.IPv4.IsValid() {
		// 0.0.0.0 is what a DHCP client and an ARP probe send from before they have an address.
		rule(fmt.Sprintf("arp saddr ip != { 0.0.0.0, %s } drop", nf.IPv4))
		rule("ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept")
		rule(fmt.Sprintf("ip saddr != %s drop", nf.IPv4))
	}
	fmt.Fprintf(&b, "add element %s nics { %q : jump %s }\n", t, nf.HostName, c)
	return b.String(), nil
}

// RenderUnfilter returns the nft script that removes a nic's rules, whether they exist or not
// (each object is declared first, so its delete cannot fail).
func (f *Firewall) RenderUnfilter(host string) (string, error) {
	if !ifnameRe.MatchString(host) {
		return "", fmt.Errorf("nic filter: bad host interface name %q: %w", host, api.ErrInvalid)
	}
	t, c := "bridge "+f.Table, chainName(host)
	return fmt.Sprintf("add table %[1]s\nadd map %[1]s nics { type ifname : verdict; }\nadd chain %[1]s %[2]s\n"+
		"add element %[1]s nics { %[3]q : jump %[2]s }\ndelete element %[1]s nics { %[3]q }\n"+
		"flush chain %[1]s %[2]s\ndelete chain %[1]s %[2]s\n", t, c, host), nil
}

// FilterNIC lets frames from nf.HostName into lite's bridges only from the nic's own MAC (and
// IPv4 address, when one is given). The rules live in lite's bridge-family table, beside and
// under the same name as its inet table; a lited restart leaves them in place.
//
// Re-declaring the base chain (or flushing its rule) makes nft wait a kernel grace period
// before it exits, ~12 ms on every start, so the head is declared once per lited and again
// after lite removed the table. Between, a nic's script only adds to the table and its map, and
// fails if they are gone (the table was removed behind lited's back): the head then comes back.
func (f *Firewall) FilterNIC(ctx context.Context, nf NICFilter) error {
	if f.headDeclared.Load() {
		script, err := f.RenderFilter(nf, false)
		if err != nil {
			return err
		}
		if f.Run(ctx, script, "-f", "-") == nil {
			return nil
		}
	}
	script, err := f.RenderFilter(nf, true)
	if err != nil {
		return err
	}
	if err := f.Run(ctx, script, "-f", "-"); err != nil {
		return fmt.Errorf("filter nic %s: %w", nf.HostName, err)
	}
	f.headDeclared.Store(true)
	return nil
}

// UnfilterNIC removes the rules of a nic's host interface (none there is fine).
func (f *Firewall) UnfilterNIC(ctx context.Context, host string) error {
	script, err := f.RenderUnfilter(host)
	if err != nil {
		return err
	}
	if err := f.Run(ctx, script, "-f", "-"); err != nil {
		return fmt.Errorf("unfilter nic %s: %w", host, err)
	}
	return nil
}

// FilteredNICs returns the host interfaces that have rules in lite's bridge table (none when
// the table does not exist yet).
func (f *Firewall) FilteredNICs(ctx context.Context) ([]string, error) {
	out, err := f.List(ctx, "list", "map", "bridge", f.Table, "nics")
	if err != nil {
		if strings.Contains(err.Error(), "No such file or directory") {
			return nil, nil // no table or map: nothing filtered
		}
		return nil, fmt.Errorf("list nic filters: %w", err)
	}
	var hosts []string
	for _, m := range quotedRe.FindAllStringSubmatch(out, -1) {
		if ifnameRe.MatchString(m[1]) {
			hosts = append(hosts, m[1])
		}
	}
	return hosts, nil
}

// quotedRe matches the quoted interface names of an nft map listing.
var quotedRe = regexp.MustCompile(`"([^"]+)"`)

// PruneNICs removes the rules of host interfaces that no longer exist. A nic's rules go in
// before liblxc makes its veth, so a lited killed during a start leaves rules behind; lited
// calls this once when it starts, before any instance starts, when no rules can be in flight.
func (m *Manager) PruneNICs(ctx context.Context) error {
	hosts, err := m.o.Firewall.FilteredNICs(ctx)
	if err != nil {
		return err
	}
	var first error
	for _, h := range hosts {
		exists, err := netutil.LinkExists(h)
		if err != nil || exists {
			first = firstErr(first, err)
			continue
		}
		m.o.Log.Info("removing the nic filter of an interface that is gone", "interface", h)
		first = firstErr(first, m.o.Firewall.UnfilterNIC(ctx, h))
	}
	return first
}

// FilterNIC installs a nic's source filter (see Firewall.FilterNIC).
func (m *Manager) FilterNIC(ctx context.Context, nf NICFilter) error {
	return m.o.Firewall.FilterNIC(ctx, nf)
}

// UnfilterNIC removes a nic's source filter.
func (m *Manager) UnfilterNIC(ctx context.Context, host string) error {
	return m.o.Firewall.UnfilterNIC(ctx, host)
}

// FilteringOf reads a nic's security.mac_filtering and security.ipv4_filtering: both on unless
// set to false (lite's default, stricter than LXD's).
func FilteringOf(dev map[string]string) (mac, ipv4 bool) {
	on := func(k string) bool { v, ok := dev[k]; return !ok || v == "" || profiles.IsTrue(v) }
	return on("security.mac_filtering"), on("security.ipv4_filtering")
}
