package clusternet

import (
	"net"
	"strings"
	"testing"
	"time"

	"lite/test/roottest"
)

// TestNet (root): two members reach each other over the bridge, see only their own links in
// /sys, lose each other when one is cut and find each other again; Close leaves nothing.
func TestNet(t *testing.T) {
	roottest.Require(t, "network namespaces, veths and a bridge")
	nt, err := New(2)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = nt.Close()
		}
	})
	h1, h2 := nt.Members[0], nt.Members[1]
	var ln net.Listener
	if err := h2.Do(func() (err error) {
		ln, err = net.Listen("tcp", h2.Addr.String()+":7000")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	// ping: a TCP connection from one member to the other's listener.
	ping := func(from, to *Member) error {
		return from.Do(func() error {
			c, err := net.DialTimeout("tcp", to.Addr.String()+":7000", 2*time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
	}
	if err := ping(h1, h2); err != nil {
		t.Fatal(err)
	}
	out, err := h1.Command("ls", "/sys/class/net").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(out)); strings.Join(got, " ") != "eth0 lo" {
		t.Errorf("/sys/class/net in h1: %q, want eth0 and lo only", got)
	}
	// A link made inside shows in the member's /sys, not the host's.
	if err := h1.Run("ip", "link", "add", "ltcprobe0", "type", "bridge"); err != nil {
		t.Fatal(err)
	}
	if err := h1.Run("test", "-d", "/sys/class/net/ltcprobe0/bridge"); err != nil {
		t.Errorf("bridge made in h1 not in its /sys: %v", err)
	}
	if linkExists("ltcprobe0") {
		t.Errorf("bridge made in h1 shows on the host")
	}
	if err := h2.Cut(); err != nil {
		t.Fatal(err)
	}
	if ping(h1, h2) == nil {
		t.Errorf("h1 reaches h2 while h2 is cut off")
	}
	if err := h2.Restore(); err != nil {
		t.Fatal(err)
	}
	var last error
	for i := 0; i < 10; i++ {
		if last = ping(h1, h2); last == nil {
			break
		}
	}
	if last != nil {
		t.Errorf("h1 does not reach h2 after restore: %v", last)
	}
	// A process left in a member's namespaces is named and killed by Close.
	ln.Close()
	stray := h2.Command("sleep", "600")
	if err := stray.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = stray.Wait() }()
	err = nt.Close()
	closed = true
	if err == nil || !strings.Contains(err.Error(), "sleep 600") {
		t.Errorf("Close with a stray process: %v, want it named", err)
	}
	if left := nt.Leftovers(); len(left) > 0 {
		t.Errorf("after Close: %v", left)
	}
}
