package netutil

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"runtime"
	"testing"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"lite/client/api"
	"lite/test/roottest"
)

// inThrowawayNetns runs fn on a locked thread inside a new network namespace, so the host's
// own interfaces are never touched; the namespace goes away with its last reference.
func inThrowawayNetns(t *testing.T, fn func()) {
	t.Helper()
	roottest.Require(t, "a network namespace")
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		// Never unlocked: the thread dies with the goroutine, namespace and all.
		ns, err := netns.New()
		if err != nil {
			t.Errorf("new netns: %v", err)
			return
		}
		defer ns.Close()
		fn()
	}()
	<-done
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"litebr0", "ltn-abcdef12345"} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "averyverylongname", "a/b", "a b", "a:b", ".."} {
		if err := ValidName(bad); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("ValidName(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestBridgeLifecycleInNetns(t *testing.T) {
	inThrowawayNetns(t, func() {
		created, err := EnsureBridge("ltbr-test", 1400)
		if err != nil || !created {
			t.Fatalf("EnsureBridge = %v, %v", created, err)
		}
		if created, err := EnsureBridge("ltbr-test", 1400); err != nil || created {
			t.Fatalf("second EnsureBridge = %v, %v; want adopted", created, err)
		}
		if mtu, err := MTU("ltbr-test"); err != nil || mtu != 1400 {
			t.Fatalf("MTU = %d, %v", mtu, err)
		}
		gw := netip.MustParsePrefix("10.201.7.1/24")
		if err := SetAddrs("ltbr-test", []netip.Prefix{gw}); err != nil {
			t.Fatal(err)
		}
		if err := SetAddrs("ltbr-test", []netip.Prefix{gw}); err != nil {
			t.Fatal(err)
		}
		addrs, err := Addrs("ltbr-test")
		if err != nil || len(addrs) != 1 || addrs[0] != gw {
			t.Fatalf("Addrs = %v, %v", addrs, err)
		}
		if err := SetUp("ltbr-test"); err != nil {
			t.Fatal(err)
		}
		if is, err := IsBridge("ltbr-test"); err != nil || !is {
			t.Fatalf("IsBridge = %v, %v", is, err)
		}
		what, err := Overlap(netip.MustParsePrefix("10.201.0.0/16"))
		if err != nil || what == "" {
			t.Fatalf("Overlap(10.201.0.0/16) = %q, %v; want the bridge's address", what, err)
		}
		if what, err := Overlap(netip.MustParsePrefix("10.201.7.0/24"), "ltbr-test"); err != nil || what != "" {
			t.Fatalf("Overlap ignoring the bridge = %q, %v", what, err)
		}
		if what, err := Overlap(netip.MustParsePrefix("10.202.0.0/24")); err != nil || what != "" {
			t.Fatalf("Overlap(10.202.0.0/24) = %q, %v; want none", what, err)
		}
		if found, on, err := VethPeerOnBridge("nosuchveth", "ltbr-test"); err != nil || found || on {
			t.Fatalf("VethPeerOnBridge = %v %v %v", found, on, err)
		}
		if err := DeleteLink("ltbr-test"); err != nil {
			t.Fatal(err)
		}
		if err := DeleteLink("ltbr-test"); err != nil {
			t.Fatalf("second delete: %v", err)
		}
		if ok, err := LinkExists("ltbr-test"); err != nil || ok {
			t.Fatalf("LinkExists after delete = %v, %v", ok, err)
		}
	})
}

// TestInterfacesAndDialIn serves TCP inside a throwaway namespace and reaches it with DialIn
// from the test's own namespace, through the namespace of a thread of this process.
func TestInterfacesAndDialIn(t *testing.T) {
	roottest.Require(t, "a network namespace")
	type nsInfo struct {
		ln  net.Listener
		tid int
	}
	ready := make(chan nsInfo, 1)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		runtime.LockOSThread()
		ns, err := netns.New()
		if err != nil {
			t.Errorf("new netns: %v", err)
			close(ready)
			return
		}
		defer ns.Close()
		if err := SetUp("lo"); err != nil {
			t.Errorf("lo up: %v", err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Errorf("listen: %v", err)
			close(ready)
			return
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = io.WriteString(c, "hello")
				c.Close()
			}
		}()
		ready <- nsInfo{ln, unix.Gettid()}
		<-stop
	}()
	info, ok := <-ready
	if !ok {
		t.Fatal("namespace setup failed")
	}
	// /proc/<tid>/ns/net names the thread's namespace; pid is only used for that path.
	ifs, err := InterfacesOf(info.tid)
	if err != nil {
		t.Fatal(err)
	}
	if len(ifs) != 1 || ifs[0].Name != "lo" || ifs[0].Type != "loopback" || ifs[0].State != "up" {
		t.Fatalf("interfaces = %+v", ifs)
	}
	c, err := DialIn(context.Background(), info.tid, "tcp", info.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "hello" {
		t.Fatalf("read %q, %v", b, err)
	}
	// The same address in the test's own namespace has nobody listening.
	if c2, err := net.Dial("tcp", info.ln.Addr().String()); err == nil {
		c2.Close()
		t.Fatal("dial in own namespace reached the namespaced listener")
	}
}
