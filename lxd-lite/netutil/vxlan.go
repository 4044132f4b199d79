package netutil

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lite/client/api"
)

// VXLAN describes the tunnel port that joins one bridge to the same network on other hosts:
// unicast only (no multicast group), no learning, one all-zeros FDB entry per remote host.
type VXLAN struct {
	Name   string     // the device
	Bridge string     // the bridge it is a port of
	VNI    int        // 1 to 2^24-1
	Local  netip.Addr // this host's underlay address (the source of the outer packets)
	Port   int        // UDP destination port
	MTU    int        // the device's MTU (0: the kernel's default)
}

func (v VXLAN) check() error {
	if err := ValidName(v.Name); err != nil {
		return err
	}
	switch {
	case v.VNI < 1 || v.VNI > 1<<24-1:
		return fmt.Errorf("vxlan %s: VNI %d is not in 1..%d: %w", v.Name, v.VNI, 1<<24-1, api.ErrInvalid)
	case v.Port < 1 || v.Port > 65535:
		return fmt.Errorf("vxlan %s: UDP port %d is not in 1..65535: %w", v.Name, v.Port, api.ErrInvalid)
	case !v.Local.Is4():
		return fmt.Errorf("vxlan %s: local address %s is not an IPv4 address: %w", v.Name, v.Local, api.ErrInvalid)
	}
	return nil
}

// EnsureVXLAN makes the vxlan device v describes, a port of its bridge and up; an existing
// device of that name that differs in anything the kernel cannot change is made again.
// created says whether a device was made now.
func EnsureVXLAN(v VXLAN) (created bool, err error) {
	if err := v.check(); err != nil {
		return false, err
	}
	br, err := netlink.LinkByName(v.Bridge)
	if err != nil {
		return false, fmt.Errorf("vxlan %s: look up bridge %s: %w", v.Name, v.Bridge, err)
	}
	if l, err := netlink.LinkByName(v.Name); err == nil {
		vx, ok := l.(*netlink.Vxlan)
		if !ok {
			return false, fmt.Errorf("interface %s exists and is a %s, not a vxlan: %w", v.Name, l.Type(), api.ErrAlreadyExists)
		}
		if vx.MasterIndex == br.Attrs().Index && v.sameTunnel(vx) {
			return false, v.tune(l)
		}
		if err := DeleteLink(v.Name); err != nil {
			return false, err
		}
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = v.Name
	attrs.MTU = v.MTU
	link := &netlink.Vxlan{LinkAttrs: attrs, VxlanId: v.VNI, SrcAddr: v.Local.AsSlice(), Port: v.Port,
		Learning: false}
	if err := netlink.LinkAdd(link); err != nil {
		return false, fmt.Errorf("create vxlan %s (VNI %d, port %d, local %s): %w", v.Name, v.VNI, v.Port, v.Local, err)
	}
	l, err := netlink.LinkByName(v.Name)
	if err == nil {
		err = netlink.LinkSetMaster(l, br)
	}
	if err == nil {
		err = v.tune(l)
	}
	if err != nil {
		_ = DeleteLink(v.Name)
		return false, fmt.Errorf("vxlan %s on bridge %s: %w", v.Name, v.Bridge, err)
	}
	return true, nil
}

// sameTunnel compares what the kernel cannot change in place.
func (v VXLAN) sameTunnel(l *netlink.Vxlan) bool {
	local, _ := netip.AddrFromSlice(l.SrcAddr)
	noGroup := len(l.Group) == 0 || l.Group.IsUnspecified()
	return l.VxlanId == v.VNI && l.Port == v.Port && local.Unmap() == v.Local && !l.Learning && noGroup
}

// tune sets what can change in place: the MTU, and the link up.
func (v VXLAN) tune(l netlink.Link) error {
	if v.MTU > 0 && l.Attrs().MTU != v.MTU {
		if err := netlink.LinkSetMTU(l, v.MTU); err != nil {
			return fmt.Errorf("set mtu of %s to %d: %w", v.Name, v.MTU, err)
		}
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", v.Name, err)
	}
	return nil
}

var zeroMAC = net.HardwareAddr{0, 0, 0, 0, 0, 0}

// Remotes returns the destinations of a vxlan device's all-zeros FDB entries (the hosts every
// broadcast, multicast and unknown unicast frame is sent to), sorted.
func Remotes(name string) ([]netip.Addr, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("look up link %s: %w", name, err)
	}
	return remotesOf(l)
}

func remotesOf(l netlink.Link) ([]netip.Addr, error) {
	list, err := netlink.NeighList(l.Attrs().Index, unix.AF_BRIDGE)
	if err != nil {
		return nil, fmt.Errorf("list fdb of %s: %w", l.Attrs().Name, err)
	}
	var out []netip.Addr
	for _, n := range list {
		if n.LinkIndex != l.Attrs().Index || n.HardwareAddr.String() != zeroMAC.String() || n.IP == nil {
			continue
		}
		if a, ok := netip.AddrFromSlice(n.IP); ok {
			out = append(out, a.Unmap())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out, nil
}

func fdbEntry(index int, dst netip.Addr) *netlink.Neigh {
	return &netlink.Neigh{LinkIndex: index, Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT | netlink.NUD_NOARP,
		Flags: netlink.NTF_SELF, HardwareAddr: zeroMAC, IP: dst.AsSlice()}
}

// SetRemotes makes want the only all-zeros FDB entries of a vxlan device: entries for hosts
// that joined are appended, those of hosts that left removed.
func SetRemotes(name string, want []netip.Addr) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("look up link %s: %w", name, err)
	}
	have, err := remotesOf(l)
	if err != nil {
		return err
	}
	wanted := map[netip.Addr]bool{}
	for _, a := range want {
		if !a.Is4() {
			return fmt.Errorf("vxlan %s: remote %s is not an IPv4 address: %w", name, a, api.ErrInvalid)
		}
		wanted[a] = true
	}
	present := map[netip.Addr]bool{}
	for _, a := range have {
		present[a] = true
		if wanted[a] {
			continue
		}
		if err := netlink.NeighDel(fdbEntry(l.Attrs().Index, a)); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("vxlan %s: remove remote %s: %w", name, a, err)
		}
	}
	for _, a := range want {
		if present[a] {
			continue
		}
		if err := netlink.NeighAppend(fdbEntry(l.Attrs().Index, a)); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("vxlan %s: add remote %s: %w", name, a, err)
		}
		present[a] = true
	}
	return nil
}

// SetMAC sets an interface's MAC address (a bridge's gateway MAC shared by every host).
func SetMAC(name string, mac net.HardwareAddr) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("look up link %s: %w", name, err)
	}
	if l.Attrs().HardwareAddr.String() == mac.String() {
		return nil
	}
	if err := netlink.LinkSetHardwareAddr(l, mac); err != nil {
		return fmt.Errorf("set the MAC of %s to %s: %w", name, mac, err)
	}
	return nil
}
