package netutil

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Iface is one interface seen inside a network namespace.
type Iface struct {
	Name                                                                             string
	Type                                                                             string // "loopback" or "broadcast", as LXD reports
	State                                                                            string // "up" or "down"
	Hwaddr                                                                           string
	MTU                                                                              int
	Addrs                                                                            []Addr
	RxBytes, TxBytes, RxPackets, TxPackets, RxErrors, TxErrors, RxDropped, TxDropped int64
}

// Addr is one address with its family ("inet"/"inet6"), prefix length and scope.
type Addr struct {
	Family string
	Addr   netip.Addr
	Bits   int
	Scope  string // "global", "link", "local"
}

// InterfacesOf lists the interfaces in the network namespace of process pid. It talks
// netlink to that namespace through a socket opened there, so no thread changes namespace.
func InterfacesOf(pid int) ([]Iface, error) {
	var out []Iface
	err := inNetns(pid, func(h *netlink.Handle) error {
		links, err := h.LinkList()
		if err != nil {
			return fmt.Errorf("list links of pid %d: %w", pid, err)
		}
		addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
		if err != nil {
			return fmt.Errorf("list addresses of pid %d: %w", pid, err)
		}
		out = make([]Iface, 0, len(links))
		for _, l := range links {
			out = append(out, ifaceOf(l, addrs))
		}
		return nil
	})
	return out, err
}

func scopeName(s int) string {
	switch netlink.Scope(s) {
	case netlink.SCOPE_HOST:
		return "local"
	case netlink.SCOPE_LINK:
		return "link"
	}
	return "global"
}

// DialIn connects to addr ("host:port") over network ("tcp", "udp") from inside the network
// namespace of process pid. The socket is made on a locked OS thread that enters the
// namespace and comes back; a socket keeps the namespace it was made in.
func DialIn(ctx context.Context, pid int, network, addr string) (net.Conn, error) {
	target, err := netns.GetFromPid(pid)
	if err != nil {
		return nil, fmt.Errorf("open network namespace of pid %d: %w", pid, err)
	}
	defer target.Close()
	type result struct {
		c   net.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{nil, fmt.Errorf("open own network namespace: %w", err)}
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			done <- result{nil, fmt.Errorf("enter network namespace of pid %d: %w", pid, err)}
			return
		}
		var d net.Dialer
		c, derr := d.DialContext(ctx, network, addr)
		if err := netns.Set(orig); err != nil {
			// This thread is stuck in the container's namespace: leave it locked so the
			// runtime ends it with the goroutine instead of reusing it.
			if c != nil {
				c.Close()
			}
			done <- result{nil, fmt.Errorf("return from network namespace of pid %d: %w", pid, err)}
			return
		}
		runtime.UnlockOSThread()
		done <- result{c, derr}
	}()
	r := <-done
	return r.c, r.err
}

// HostIface describes one interface of the host (lited's own namespace).
func HostIface(name string) (Iface, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return Iface{}, fmt.Errorf("look up link %s: %w", name, err)
	}
	addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return Iface{}, fmt.Errorf("list addresses of %s: %w", name, err)
	}
	return ifaceOf(l, addrs), nil
}

// ifaceOf describes link l with the addresses (of any link) that belong to it.
func ifaceOf(l netlink.Link, addrs []netlink.Addr) Iface {
	a := l.Attrs()
	it := Iface{Name: a.Name, Type: "broadcast", State: "down", MTU: a.MTU, Addrs: []Addr{}}
	if a.Flags&net.FlagLoopback != 0 {
		it.Type = "loopback"
	}
	if a.Flags&net.FlagUp != 0 {
		it.State = "up"
	}
	if len(a.HardwareAddr) > 0 {
		it.Hwaddr = a.HardwareAddr.String()
	}
	if s := a.Statistics; s != nil {
		it.RxBytes, it.TxBytes = int64(s.RxBytes), int64(s.TxBytes)
		it.RxPackets, it.TxPackets = int64(s.RxPackets), int64(s.TxPackets)
		it.RxErrors, it.TxErrors = int64(s.RxErrors), int64(s.TxErrors)
		it.RxDropped, it.TxDropped = int64(s.RxDropped), int64(s.TxDropped)
	}
	for _, ad := range addrs {
		if ad.LinkIndex != a.Index {
			continue
		}
		p, ok := toPrefix(ad.IPNet)
		if !ok {
			continue
		}
		fam := "inet"
		if p.Addr().Is6() {
			fam = "inet6"
		}
		it.Addrs = append(it.Addrs, Addr{Family: fam, Addr: p.Addr(), Bits: p.Bits(), Scope: scopeName(ad.Scope)})
	}
	return it
}
