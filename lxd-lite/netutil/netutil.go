// Package netutil is lite's one door to the kernel's network configuration: bridges,
// addresses, link state, MTU, veth lookup and the "does this subnet collide" check, through
// netlink. It is the only package that imports github.com/vishvananda/netlink.
package netutil

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lite/client/api"
)

// MaxNameLen is the longest interface name the kernel takes (IFNAMSIZ - 1).
const MaxNameLen = 15

// ValidName checks an interface name: 1 to 15 characters, no '/', ':' or white space, not . or ..
func ValidName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("interface name %q must have 1 to %d characters: %w", name, MaxNameLen, api.ErrInvalid)
	}
	if name == "." || name == ".." {
		return fmt.Errorf("interface name %q is not allowed: %w", name, api.ErrInvalid)
	}
	for _, r := range name {
		if r == '/' || r == ':' || r <= ' ' || r > '~' {
			return fmt.Errorf("interface name %q has a character interfaces cannot have (%q): %w", name, r, api.ErrInvalid)
		}
	}
	return nil
}

// LinkExists reports whether an interface of that name exists.
func LinkExists(name string) (bool, error) {
	_, err := netlink.LinkByName(name)
	if err == nil {
		return true, nil
	}
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return false, nil
	}
	return false, fmt.Errorf("look up link %s: %w", name, err)
}

// IsBridge reports whether name exists and is a bridge.
func IsBridge(name string) (bool, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return false, nil
		}
		return false, fmt.Errorf("look up link %s: %w", name, err)
	}
	return l.Type() == "bridge", nil
}

// EnsureBridge creates bridge name unless it exists; created says whether it did. An existing
// link of another type is an error, never reused.
func EnsureBridge(name string, mtu int) (created bool, err error) {
	if err := ValidName(name); err != nil {
		return false, err
	}
	if l, err := netlink.LinkByName(name); err == nil {
		if l.Type() != "bridge" {
			return false, fmt.Errorf("interface %s exists and is a %s, not a bridge: %w", name, l.Type(), api.ErrAlreadyExists)
		}
		if mtu > 0 && l.Attrs().MTU != mtu {
			if err := netlink.LinkSetMTU(l, mtu); err != nil {
				return false, fmt.Errorf("set mtu of %s: %w", name, err)
			}
		}
		return false, pinBridgeMAC(l)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	if mtu > 0 {
		attrs.MTU = mtu
	}
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
		return false, fmt.Errorf("create bridge %s: %w", name, err)
	}
	l, err := netlink.LinkByName(name)
	if err != nil {
		return true, fmt.Errorf("look up link %s: %w", name, err)
	}
	return true, pinBridgeMAC(l)
}

// pinBridgeMAC sets a bridge's MAC to the one it has now. Left unset, the kernel gives a
// bridge the lowest MAC of its ports and changes it when that port goes: every container's
// ARP entry for the gateway is then wrong until it expires (DNS and everything else through
// the host stall for half a minute after a container is deleted). LXD pins its bridges' MACs
// for the same reason.
func pinBridgeMAC(l netlink.Link) error {
	name := l.Attrs().Name
	b, err := os.ReadFile("/sys/class/net/" + name + "/addr_assign_type")
	if err == nil && strings.TrimSpace(string(b)) == "3" { // NET_ADDR_SET: pinned already
		return nil
	}
	if err := netlink.LinkSetHardwareAddr(l, l.Attrs().HardwareAddr); err != nil {
		return fmt.Errorf("pin the MAC of bridge %s: %w", name, err)
	}
	return nil
}

// DeleteLink removes an interface; a missing one is not an error.
func DeleteLink(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("look up link %s: %w", name, err)
	}
	if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete link %s: %w", name, err)
	}
	return nil
}

// SetUp brings an interface up.
func SetUp(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("look up link %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

// SetMTU sets an interface's MTU.
func SetMTU(name string, mtu int) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("look up link %s: %w", name, err)
	}
	if err := netlink.LinkSetMTU(l, mtu); err != nil {
		return fmt.Errorf("set mtu of %s to %d: %w", name, mtu, err)
	}
	return nil
}

// MTU returns an interface's MTU.
func MTU(name string) (int, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return 0, fmt.Errorf("look up link %s: %w", name, err)
	}
	return l.Attrs().MTU, nil
}

// Addrs returns the IPv4 and IPv6 addresses on an interface, with their prefix lengths.
func Addrs(name string) ([]netip.Prefix, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("look up link %s: %w", name, err)
	}
	list, err := netlink.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses of %s: %w", name, err)
	}
	out := make([]netip.Prefix, 0, len(list))
	for _, a := range list {
		if p, ok := toPrefix(a.IPNet); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// SetAddrs makes want the only addresses of family IPv4 on an interface: missing ones are
// added, others removed. It is how an adopted bridge is brought back to its configuration.
func SetAddrs(name string, want []netip.Prefix) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("look up link %s: %w", name, err)
	}
	have, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("list addresses of %s: %w", name, err)
	}
	keep := map[netip.Prefix]bool{}
	for _, a := range have {
		p, ok := toPrefix(a.IPNet)
		if ok && contains(want, p) {
			keep[p] = true
			continue
		}
		if err := netlink.AddrDel(l, &a); err != nil {
			return fmt.Errorf("remove address %s from %s: %w", a.IPNet, name, err)
		}
	}
	for _, p := range want {
		if keep[p] {
			continue
		}
		if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: toIPNet(p)}); err != nil {
			return fmt.Errorf("add address %s to %s: %w", p, name, err)
		}
	}
	return nil
}

// VethPeerOnBridge reports whether name is a veth enslaved to bridge; found is false when
// there is no such interface at all.
func VethPeerOnBridge(name, bridge string) (found, onBridge bool, err error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return false, false, nil
		}
		return false, false, fmt.Errorf("look up link %s: %w", name, err)
	}
	if l.Type() != "veth" {
		return true, false, nil
	}
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		return true, false, nil
	}
	return true, l.Attrs().MasterIndex == br.Attrs().Index, nil
}

// Overlap names what on the host overlaps prefix: an address or a route on any interface but
// the ones in ignore (a network's own bridge). "" means nothing does.
func Overlap(prefix netip.Prefix, ignore ...string) (string, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return "", fmt.Errorf("list links: %w", err)
	}
	skip := map[int]bool{}
	names := map[int]string{}
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
		for _, n := range ignore {
			if l.Attrs().Name == n {
				skip[l.Attrs().Index] = true
			}
		}
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return "", fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		p, ok := toPrefix(a.IPNet)
		if !ok || skip[a.LinkIndex] || p.Addr().IsLoopback() {
			continue
		}
		if p.Masked().Overlaps(prefix) {
			return fmt.Sprintf("address %s on %s", p, names[a.LinkIndex]), nil
		}
	}
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return "", fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst == nil || skip[r.LinkIndex] {
			continue // default routes overlap everything and say nothing about local subnets
		}
		p, ok := toPrefix(r.Dst)
		if !ok || p.Bits() == 0 || p.Addr().IsLoopback() || r.Table == unix.RT_TABLE_LOCAL {
			continue
		}
		if p.Overlaps(prefix) {
			return fmt.Sprintf("route to %s via %s", p, names[r.LinkIndex]), nil
		}
	}
	return "", nil
}

func toPrefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

func toIPNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}

func contains(list []netip.Prefix, p netip.Prefix) bool {
	for _, q := range list {
		if q == p {
			return true
		}
	}
	return false
}
