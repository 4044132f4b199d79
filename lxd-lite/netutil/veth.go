package netutil

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"lite/client/api"
)

// PairEnd is one end of a point-to-point veth pair: the process whose network namespace it
// goes into, its name there and its address (optional).
type PairEnd struct {
	Pid  int
	Name string
	Addr netip.Prefix
}

// inNetns runs fn with a netlink handle in pid's network namespace. The handle has a route
// socket only (links, addresses, routes): each socket is made by entering the namespace and
// coming back, and netlink's default of three families tripled what a list of hundreds of
// instances spent on it.
func inNetns(pid int, fn func(h *netlink.Handle) error) error {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("open network namespace of pid %d: %w", pid, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in namespace of pid %d: %w", pid, err)
	}
	defer h.Close()
	return fn(h)
}

// LinkIn reports whether pid's network namespace has an interface called name, and whether
// it is a veth.
func LinkIn(pid int, name string) (exists, veth bool, err error) {
	err = inNetns(pid, func(h *netlink.Handle) error {
		l, err := h.LinkByName(name)
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("look up %s in pid %d: %w", name, pid, err)
		}
		exists, veth = true, l.Type() == "veth"
		return nil
	})
	return exists, veth, err
}

// MakePair creates a veth pair on the host under temporary names, moves each end into its
// namespace, and there renames it, gives it its address and sets it up. On any failure the
// pair is deleted (deleting one end of a veth deletes both), so nothing half-made remains.
func MakePair(a, b PairEnd) (err error) {
	for _, e := range []PairEnd{a, b} {
		exists, _, err := LinkIn(e.Pid, e.Name)
		if err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("interface %s already exists in the node (pid %d): %w", e.Name, e.Pid, api.ErrAlreadyExists)
		}
	}
	tmp := make([]byte, 5)
	if _, err := rand.Read(tmp); err != nil {
		return err
	}
	tmpA, tmpB := "lka"+hex.EncodeToString(tmp), "lkb"+hex.EncodeToString(tmp)
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: tmpA}, PeerName: tmpB}); err != nil {
		return fmt.Errorf("create veth pair %s/%s: %w", tmpA, tmpB, err)
	}
	moved := false
	defer func() {
		if err == nil {
			return
		}
		// Whichever end is still on the host goes (deleting one end deletes the pair).
		for _, n := range []string{tmpA, tmpB} {
			if l, lerr := netlink.LinkByName(n); lerr == nil {
				_ = netlink.LinkDel(l)
			}
		}
		if !moved {
			return
		}
		for _, e := range []struct {
			pid        int
			tmp, final string
		}{{a.Pid, tmpA, a.Name}, {b.Pid, tmpB, b.Name}} {
			_ = inNetns(e.pid, func(h *netlink.Handle) error {
				for _, n := range []string{e.tmp, e.final} {
					if l, lerr := h.LinkByName(n); lerr == nil && l.Type() == "veth" {
						_ = h.LinkDel(l)
					}
				}
				return nil
			})
		}
	}()
	for _, m := range []struct {
		tmp string
		pid int
	}{{tmpA, a.Pid}, {tmpB, b.Pid}} {
		l, err := netlink.LinkByName(m.tmp)
		if err != nil {
			return fmt.Errorf("find %s: %w", m.tmp, err)
		}
		if err := netlink.LinkSetNsPid(l, m.pid); err != nil {
			return fmt.Errorf("move %s into pid %d: %w", m.tmp, m.pid, err)
		}
		moved = true
	}
	if err := setUpEnd(a, tmpA); err != nil {
		return err
	}
	return setUpEnd(b, tmpB)
}

func setUpEnd(e PairEnd, tmp string) error {
	return inNetns(e.Pid, func(h *netlink.Handle) error {
		l, err := h.LinkByName(tmp)
		if err != nil {
			return fmt.Errorf("find %s in pid %d: %w", tmp, e.Pid, err)
		}
		if err := h.LinkSetName(l, e.Name); err != nil {
			return fmt.Errorf("rename %s to %s in pid %d: %w", tmp, e.Name, e.Pid, err)
		}
		if e.Addr.IsValid() {
			if err := h.AddrAdd(l, &netlink.Addr{IPNet: toIPNet(e.Addr)}); err != nil {
				return fmt.Errorf("address %s on %s in pid %d: %w", e.Addr, e.Name, e.Pid, err)
			}
		}
		if err := h.LinkSetUp(l); err != nil {
			return fmt.Errorf("set %s up in pid %d: %w", e.Name, e.Pid, err)
		}
		return nil
	})
}
