package network

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strconv"

	"lite/client/api"
	"lite/db"
)

// DefaultVXLANPort is the UDP port of the tunnels between members' bridges when a network
// sets no vxlan.port: IANA's VXLAN port (Linux's legacy default 8472 is flannel's).
const DefaultVXLANPort = 4789

// vxlanOverhead is what VXLAN over IPv4 adds to a frame: outer IPv4 (20), UDP (8), VXLAN (8)
// and the inner Ethernet header (14).
const vxlanOverhead = 50

// clusterMTU is a cluster network's MTU when bridge.mtu is unset: a full 1500-byte frame
// from a container fits the tunnel over a 1500-byte underlay (LXD's default for tunnels too).
const clusterMTU = 1500 - vxlanOverhead

// Member is one member of the cluster as the networks see it: its name and the address its
// tunnels start and end at.
type Member struct {
	Name    string
	Address netip.Addr
}

// Cluster is what the networks need of the cluster: who this member is, who the members
// are, and a call when that changes. nil (or LocalName "") is a single host.
type Cluster interface {
	LocalName() string
	Members(ctx context.Context) ([]Member, error)
	OnChange(fn func())
}

// MemberAddress reads a member's tunnel address from its API URL (https://HOST:PORT): the
// host part, resolved when it is a name.
func MemberAddress(ctx context.Context, rawURL string) (netip.Addr, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return netip.Addr{}, fmt.Errorf("member URL %q has no host: %w", rawURL, api.ErrInvalid)
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil {
		if !a.Unmap().Is4() {
			return netip.Addr{}, fmt.Errorf("member URL %q: cluster networks tunnel over IPv4 only: %w", rawURL, api.ErrInvalid)
		}
		return a.Unmap(), nil
	}
	list, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", u.Hostname())
	if err != nil || len(list) == 0 {
		return netip.Addr{}, fmt.Errorf("member URL %q: resolve %s: %v: %w", rawURL, u.Hostname(), err, api.ErrInvalid)
	}
	return list[0].Unmap(), nil
}

// clusterView is the members as one member sees them: its own address, the others', and its
// position in the name-sorted list (which slice of each DHCP range it serves).
type clusterView struct {
	local  Member
	others []netip.Addr // sorted
	index  int
	count  int
}

func (v *clusterView) equal(o *clusterView) bool {
	if v == nil || o == nil {
		return v == o
	}
	if v.local != o.local || v.index != o.index || v.count != o.count || len(v.others) != len(o.others) {
		return false
	}
	for i := range v.others {
		if v.others[i] != o.others[i] {
			return false
		}
	}
	return true
}

// viewOf builds the view of member local from the member list; nil when not clustered.
func viewOf(local string, members []Member) (*clusterView, error) {
	if local == "" {
		return nil, nil
	}
	sorted := append([]Member(nil), members...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	v := &clusterView{index: -1, count: len(sorted)}
	seen := map[netip.Addr]string{}
	for i, m := range sorted {
		if !m.Address.Is4() {
			return nil, fmt.Errorf("cluster member %q has no IPv4 address to tunnel to: %w", m.Name, api.ErrInvalid)
		}
		if other, dup := seen[m.Address]; dup {
			return nil, fmt.Errorf("cluster members %q and %q have the same address %s: %w", other, m.Name, m.Address, api.ErrConflict)
		}
		seen[m.Address] = m.Name
		if m.Name == local {
			v.local, v.index = m, i
			continue
		}
		v.others = append(v.others, m.Address)
	}
	if v.index < 0 {
		return nil, fmt.Errorf("this member %q is not in the cluster's member list (yet): %w", local, api.ErrNotFound)
	}
	sort.Slice(v.others, func(i, j int) bool { return v.others[i].Less(v.others[j]) })
	return v, nil
}

// VNI is a network's VXLAN id: its row id, the same on every member since they share the
// database, and stable across renames.
func VNI(id int64) (int, error) {
	if id < 1 || id > 1<<24-1 {
		return 0, fmt.Errorf("network id %d does not fit a VXLAN id (1 to %d): %w", id, 1<<24-1, api.ErrInvalid)
	}
	return int(id), nil
}

// TunnelName is the vxlan device of a bridge: "ltvx" and 8 hex digits of the bridge name's
// hash (a bridge name has up to 15 characters, no room for a suffix).
func TunnelName(bridge string) string {
	sum := sha256.Sum256([]byte(bridge))
	return "ltvx" + hex.EncodeToString(sum[:4])
}

// GatewayMAC is the MAC every member gives a cluster network's bridge: the gateway address is
// the same on every member too, so each member is the local router of its own containers and
// a container finds the same gateway wherever it runs. Locally administered, derived from the
// VNI and the gateway so every member computes the same one.
func GatewayMAC(vni int, gw netip.Prefix) net.HardwareAddr {
	sum := sha256.Sum256([]byte(strconv.Itoa(vni) + "/" + gw.String()))
	return net.HardwareAddr{0x02, sum[0], sum[1], sum[2], sum[3], sum[4]}
}

// SliceRanges returns slice index of count of the addresses in ranges: each member hands out
// dynamic addresses from its own slice, so two members' dnsmasqs never lease the same one.
// The slices are as equal as the total allows; the result is empty when the ranges have fewer
// addresses than there are members.
func SliceRanges(ranges []Range, index, count int) []Range {
	if count <= 1 {
		return ranges
	}
	var total uint64
	for _, r := range ranges {
		total += uint64(u32(r.End)-u32(r.Start)) + 1
	}
	lo := total * uint64(index) / uint64(count)
	hi := total * uint64(index+1) / uint64(count) // exclusive
	var out []Range
	var off uint64
	for _, r := range ranges {
		n := uint64(u32(r.End)-u32(r.Start)) + 1
		s, e := max(lo, off), min(hi, off+n) // [s, e) in the concatenated ranges
		if s < e {
			out = append(out, Range{Start: fromU32(u32(r.Start) + uint32(s-off)), End: fromU32(u32(r.Start) + uint32(e-off-1))})
		}
		off += n
	}
	return out
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func fromU32(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// settings are a network's effective values on this member: in a cluster, its slice of the
// DHCP ranges and the MTU that fits the tunnel.
func (m *Manager) settings(n db.Network) Settings {
	s := SettingsOf(n.Config)
	v := m.view.Load()
	if v == nil {
		return s
	}
	s.Cluster = true
	if s.MTU == 0 {
		s.MTU = clusterMTU
	}
	s.Ranges = SliceRanges(s.Ranges, v.index, v.count)
	return s
}

// tunnelOf describes a network's tunnel on this member (nil on a single host).
func (m *Manager) tunnelOf(n db.Network, s Settings) (*Tunnel, error) {
	v := m.view.Load()
	if v == nil {
		return nil, nil
	}
	vni, err := VNI(n.ID)
	if err != nil {
		return nil, err
	}
	t := &Tunnel{Dev: TunnelName(n.Name), VNI: vni, Port: s.VXLANPort, Local: v.local.Address, Peers: v.others}
	if s.Gateway.IsValid() {
		t.GatewayIP, t.GatewayMAC = s.Gateway.Addr(), GatewayMAC(vni, s.Gateway)
	}
	return t, nil
}
