package netutil

import (
	"errors"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lite/client/api"
)

// An interface of the name already taken by something else is ErrAlreadyExists (not
// ErrConflict, which shares its 409): a bridge over a veth, a veth end over an interface in
// the node. Both are refused before anything is made, and what was there is left alone.
func TestInterfaceInTheWayIsAlreadyExists(t *testing.T) {
	inThrowawayNetns(t, func() {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "ltx-test"}, PeerName: "ltx-other"}
		if err := netlink.LinkAdd(veth); err != nil {
			t.Fatalf("add veth: %v", err)
		}
		_, err := EnsureBridge("ltx-test", 0)
		if !errors.Is(err, api.ErrAlreadyExists) || errors.Is(err, api.ErrConflict) {
			t.Errorf("EnsureBridge over a veth = %v, want ErrAlreadyExists only", err)
		}
		// This thread's namespace stands for the node's: /proc/<tid>/ns/net is it.
		tid := unix.Gettid()
		err = MakePair(PairEnd{Pid: tid, Name: "ltx-new"}, PairEnd{Pid: tid, Name: "ltx-test"})
		if !errors.Is(err, api.ErrAlreadyExists) || errors.Is(err, api.ErrConflict) {
			t.Errorf("MakePair onto an existing interface = %v, want ErrAlreadyExists only", err)
		}
		links, err := netlink.LinkList()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range links {
			names = append(names, l.Attrs().Name)
		}
		if len(names) != 3 || names[1] != "ltx-test" && names[2] != "ltx-test" {
			t.Errorf("interfaces after the refusals: %q, want lo and the veth pair only", names)
		}
	})
}
