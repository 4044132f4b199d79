package network

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/netutil"
	"lite/test/roottest"
)

// Environment of the copies of the test binary that play one member inside its namespace.
const (
	memberEnv    = "LITE_CLNET_MEMBER" // a or b
	memberDirEnv = "LITE_CLNET_DIR"
)

const (
	clNet     = "ltcl0"
	clGateway = "10.98.0.1/24"
)

var clMembers = []Member{{"a", netip.MustParseAddr("192.0.2.1")}, {"b", netip.MustParseAddr("192.0.2.2")}}

// fakeCluster is a cluster as the tests make it: a member list they change, and the
// OnChange callbacks they call.
type fakeCluster struct {
	local   string
	mu      sync.Mutex
	members []Member
	fns     []func()
}

func (f *fakeCluster) LocalName() string { return f.local }

func (f *fakeCluster) Members(context.Context) ([]Member, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.members), nil
}

func (f *fakeCluster) OnChange(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fns = append(f.fns, fn)
}

func (f *fakeCluster) set(ms []Member) {
	f.mu.Lock()
	f.members = slices.Clone(ms)
	fns := slices.Clone(f.fns)
	f.mu.Unlock()
	for _, fn := range fns {
		go fn()
	}
}

// TestClusterNetworkInNetns: two members, each a network namespace joined to the other by a
// veth (the underlay), each running the network manager as a member of a fake cluster; a
// "container" namespace on each member's bridge. The containers reach each other across the
// VXLAN tunnel (small and full-MTU datagrams), broadcasts cross but DHCP does not, each
// member's dnsmasq answers for the other member's instance. Everything is removed at the end.
func TestClusterNetworkInNetns(t *testing.T) {
	if os.Getenv(memberEnv) != "" {
		memberScenario(t, os.Getenv(memberEnv), os.Getenv(memberDirEnv))
		return
	}
	roottest.Require(t, "network namespaces")
	sfx := randHex(3)
	ns := func(role string) string { return "ltcl-" + sfx + "-" + role }
	dir, err := os.MkdirTemp("/tmp", "lite-clnet-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // dnsmasq runs as nobody
		t.Fatal(err)
	}
	names := []string{ns("ma"), ns("mb"), ns("ca"), ns("cb")}
	t.Cleanup(func() {
		// Each member's dnsmasqs hold its namespace alive: they go first.
		for _, role := range []string{"a", "b"} {
			for _, pid := range dnsmasqPids(filepath.Join(dir, role), "") {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		for _, n := range names {
			_ = exec.Command("ip", "netns", "del", n).Run()
		}
		waitFor(t, "the members' dnsmasqs gone", func() bool {
			return len(dnsmasqPids(filepath.Join(dir, "a"), ""))+len(dnsmasqPids(filepath.Join(dir, "b"), "")) == 0
		})
		os.RemoveAll(dir)
		for _, n := range names {
			if _, err := os.Stat("/run/netns/" + n); err == nil {
				t.Errorf("namespace %s left behind", n)
			}
		}
	})
	for _, n := range names {
		ipCmd(t, "netns", "add", n)
		ipCmd(t, "-n", n, "link", "set", "lo", "up")
	}
	// The underlay: one veth between the members' namespaces.
	ipCmd(t, "-n", ns("ma"), "link", "add", "u0", "type", "veth", "peer", "name", "u0", "netns", ns("mb"))
	for i, m := range []string{ns("ma"), ns("mb")} {
		ipCmd(t, "-n", m, "addr", "add", clMembers[i].Address.String()+"/24", "dev", "u0")
		ipCmd(t, "-n", m, "link", "set", "u0", "up")
	}
	for i, role := range []string{"a", "b"} {
		runMember(t, ns("m"+role), role, filepath.Join(dir, role))
		// The container: a veth into the member's bridge, at the MTU the network gives nics.
		c, addr := ns("c"+role), fmt.Sprintf("10.98.0.%d/24", 10*(i+1))
		ipCmd(t, "-n", ns("m"+role), "link", "add", "vc0", "mtu", "1450", "type", "veth", "peer", "name", "eth0", "address", containerMAC(role), "netns", c)
		ipCmd(t, "-n", ns("m"+role), "link", "set", "vc0", "master", clNet, "up")
		ipCmd(t, "-n", c, "link", "set", "eth0", "mtu", "1450", "up")
		ipCmd(t, "-n", c, "addr", "add", addr, "dev", "eth0")
	}
	checkAcrossTunnel(t, ns("ca"), ns("cb"))
	// Each member's dnsmasq leases its own container the address it reserved in its slice.
	for role, want := range map[string]string{"a": "10.98.0.2", "b": "10.98.0.128"} {
		if got := dhcpAddress(t, ns("c"+role), containerMAC(role)); got != want {
			t.Errorf("container %s got %s by DHCP, want %s from member %s's slice", role, got, want, role)
		}
	}
	checkPeerDNS(t, ns("ca"), "web2.lite", "10.98.0.20")
	// A host on the underlay that is not a member (a second address of member b's namespace).
	ipCmd(t, "-n", ns("mb"), "addr", "add", "192.0.2.9/24", "dev", "u0")
	checkOnlyMembersInject(t, ns("mb"), ns("ca"))
}

// checkOnlyMembersInject sends hand-made VXLAN packets (VNI 1: the network's id) to member a,
// each carrying a broadcast for container a: the one from a non-member address must be
// dropped, the one from member b's address (sent after it, on the same path) arrives.
func checkOnlyMembersInject(t *testing.T, underlayNS, containerNS string) {
	sink := listenUDPIn(t, containerNS, "0.0.0.0:6002")
	intruder := listenUDPIn(t, underlayNS, "192.0.2.9:0")
	member := listenUDPIn(t, underlayNS, clMembers[1].Address.String()+":0")
	dst := &net.UDPAddr{IP: clMembers[0].Address.AsSlice(), Port: DefaultVXLANPort}
	arrived := false
	for i := 0; i < 40 && !arrived; i++ {
		if _, err := intruder.WriteTo(vxlanBroadcast(1, 6002, []byte("intruder")), dst); err != nil {
			t.Fatal(err)
		}
		if _, err := member.WriteTo(vxlanBroadcast(1, 6002, []byte("member")), dst); err != nil {
			t.Fatal(err)
		}
		for {
			_ = sink.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			buf := make([]byte, 64)
			n, _, err := sink.ReadFrom(buf)
			if err != nil {
				break
			}
			if string(buf[:n]) == "intruder" {
				t.Fatal("a VXLAN packet from a host that is not a member reached a container")
			}
			arrived = arrived || string(buf[:n]) == "member"
		}
	}
	if !arrived {
		t.Fatal("a VXLAN packet from member b's address never reached container a (the control)")
	}
}

// containerMAC is the MAC of the test's container on member role.
func containerMAC(role string) string { return "00:16:3e:cc:00:0" + role }

// runMember runs the member scenario in a copy of the test binary inside namespace nsName.
func runMember(t *testing.T, nsName, role, dir string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", nsName, os.Args[0], "-test.run", "^TestClusterNetworkInNetns$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), memberEnv+"="+role, memberDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestClusterNetworkInNetns") {
		t.Fatalf("member %s: %v\n%s", role, err, out)
	}
}

// memberScenario runs inside a member's namespace: the network comes up with its tunnel to
// the other member, its slice and its MTU; remotes follow the member list; the name of an
// instance on the other member is written for dnsmasq. dnsmasq and the links stay when the
// child exits (as they stay when lited exits), for the parent's checks.
func memberScenario(t *testing.T, role, dir string) {
	ctx := context.Background()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	database, err := db.Open(ctx, filepath.Join(dir, "lite.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close()
	fc := &fakeCluster{local: role, members: clMembers}
	table := "lite_cltest"
	m := New(Options{DB: database, Dir: filepath.Join(dir, "networks"), Firewall: NewFirewall(table), Cluster: fc,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := m.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Detach()
	if err := m.Create(ctx, api.NetworksPost{Name: clNet, NetworkPut: api.NetworkPut{Config: map[string]string{"ipv4.address": clGateway, "ipv4.nat": "false"}}}); err != nil {
		t.Fatal(err)
	}
	n, err := database.GetNetwork(ctx, clNet)
	if err != nil {
		t.Fatal(err)
	}
	self, other := clMembers[0], clMembers[1]
	if role == "b" {
		self, other = other, self
	}
	dev := TunnelName(clNet)
	if r, err := netutil.Remotes(dev); err != nil || !slices.Equal(r, []netip.Addr{other.Address}) {
		t.Fatalf("remotes of %s = %v, %v; want %s", dev, r, err, other.Address)
	}
	if mtu, err := netutil.MTU(clNet); err != nil || mtu != 1450 {
		t.Errorf("bridge MTU = %d, %v; want 1450", mtu, err)
	}
	if mtu, err := netutil.MTU(dev); err != nil || mtu != 1450 {
		t.Errorf("vxlan MTU = %d, %v; want 1450", mtu, err)
	}
	gw := netip.MustParsePrefix(clGateway)
	if it, err := netutil.HostIface(clNet); err != nil || it.Hwaddr != GatewayMAC(int(n.ID), gw).String() {
		t.Errorf("bridge MAC = %+v, %v; want the gateway MAC %s on every member", it, err, GatewayMAC(int(n.ID), gw))
	}
	conf, _ := os.ReadFile(m.files(clNet).conf())
	slice := map[string]string{"a": "dhcp-range=10.98.0.2,10.98.0.127,", "b": "dhcp-range=10.98.0.128,10.98.0.254,"}[role]
	if !strings.Contains(string(conf), slice) || !strings.Contains(string(conf), "addn-hosts=") {
		t.Errorf("dnsmasq conf lacks %q or addn-hosts:\n%s", slice, conf)
	}
	rules, err := exec.Command("nft", "list", "ruleset").CombinedOutput()
	if err != nil || !strings.Contains(string(rules), fmt.Sprintf("udp dport 4789 @th,96,24 0x%x ip saddr != %s drop", n.ID, other.Address)) ||
		!strings.Contains(string(rules), fmt.Sprintf("oifname %q udp dport { 67, 68 } drop", dev)) {
		t.Errorf("nft rules (%v):\n%s", err, rules)
	}

	// The other member leaves: its FDB entry goes; it comes back: the entry is back.
	fc.set([]Member{self})
	waitFor(t, "remote removed", func() bool { r, _ := netutil.Remotes(dev); return len(r) == 0 })
	fc.set(clMembers)
	waitFor(t, "remote back", func() bool { r, _ := netutil.Remotes(dev); return slices.Equal(r, []netip.Addr{other.Address}) })

	// The container on this member's bridge, known to this member's dnsmasq only.
	ip, err := m.Reserve(ctx, clNet, Host{MAC: containerMAC(role), Name: "c" + role})
	if want := map[string]string{"a": "10.98.0.2", "b": "10.98.0.128"}[role]; err != nil || ip.String() != want {
		t.Errorf("reserve = %s, %v; want %s, the first address of this member's slice", ip, err, want)
	}

	if role == "a" {
		followRows(t, m, database)
	}
	// An instance running on the other member, as the shared database would show it.
	if role == "a" {
		inst := db.Instance{Name: "web2", Type: "container", Architecture: "x86_64", Profiles: []string{},
			Config:  map[string]string{ReservedKey("eth0"): "10.98.0.20"},
			Devices: map[string]map[string]string{"eth0": {"type": "nic", "network": clNet}}}
		if _, err := database.CreateInstance(ctx, inst); err != nil {
			t.Fatal(err)
		}
		if err := m.Resync(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// followRows: networks that another member creates, changes and deletes (rows changed in the
// shared database, here by the test) are followed by this member's next sync.
func followRows(t *testing.T, m *Manager, database *db.DB) {
	ctx := context.Background()
	n, err := database.GetNetwork(ctx, clNet)
	if err != nil {
		t.Fatal(err)
	}
	n.Config["ipv4.dhcp.expiry"] = "2h"
	if err := database.UpdateNetwork(ctx, n); err != nil {
		t.Fatal(err)
	}
	other := db.Network{Name: "ltcl1", Type: "bridge", Config: map[string]string{"ipv4.address": "10.97.0.1/24", "ipv4.nat": "false"}}
	if err := database.CreateNetwork(ctx, other); err != nil {
		t.Fatal(err)
	}
	// An instance starting here on it before the next sync finds it up.
	if at, err := m.Attach(ctx, "ltcl1"); err != nil || at.MTU != 1450 {
		t.Fatalf("attach to a network created elsewhere: %+v, %v", at, err)
	}
	if ok, err := netutil.IsBridge("ltcl1"); !ok || err != nil {
		t.Fatalf("attach did not bring a network created elsewhere up: %v", err)
	}
	if err := m.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	if conf, _ := os.ReadFile(m.files(clNet).conf()); !strings.Contains(string(conf), "10.98.0.127,2h\n") {
		t.Errorf("a config changed elsewhere was not applied:\n%s", conf)
	}
	if r, err := netutil.Remotes(TunnelName("ltcl1")); err != nil || len(r) != 1 || len(dnsmasqPids(filepath.Dir(m.o.Dir), "ltcl1")) != 1 {
		t.Errorf("a network created elsewhere: tunnel remotes %v, %v; dnsmasq %v", r, err, dnsmasqPids(filepath.Dir(m.o.Dir), "ltcl1"))
	}
	if err := database.DeleteNetwork(ctx, "ltcl1"); err != nil {
		t.Fatal(err)
	}
	if err := m.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"ltcl1", TunnelName("ltcl1")} {
		if ok, err := netutil.LinkExists(l); ok || err != nil {
			t.Errorf("a network deleted elsewhere left %s here (%v)", l, err)
		}
	}
	if pids := dnsmasqPids(filepath.Dir(m.o.Dir), "ltcl1"); len(pids) != 0 {
		t.Errorf("a network deleted elsewhere left its dnsmasq: %v", pids)
	}
}

// checkAcrossTunnel: from container a, datagrams reach container b and come back (the
// largest that fits the MTU too, with DF set); a broadcast crosses, a DHCP one does not.
func checkAcrossTunnel(t *testing.T, nsA, nsB string) {
	echo := listenUDPIn(t, nsB, "10.98.0.20:6000")
	go func() {
		buf := make([]byte, 2000)
		for {
			n, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = echo.WriteTo(buf[:n], from)
		}
	}()
	client := listenUDPIn(t, nsA, "10.98.0.10:0")
	setDF(t, client)
	for _, size := range []int{32, 1450 - 28} {
		payload := []byte(strings.Repeat("x", size))
		got := false
		deadline := time.Now().Add(20 * time.Second) // the first one waits for ARP through the tunnel
		for !got && time.Now().Before(deadline) {
			if _, err := client.WriteTo(payload, &net.UDPAddr{IP: net.ParseIP("10.98.0.20"), Port: 6000}); err != nil {
				t.Fatalf("send %d bytes: %v", size, err)
			}
			_ = client.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			buf := make([]byte, 2000)
			n, _, err := client.ReadFrom(buf)
			got = err == nil && n == size
		}
		if !got {
			t.Fatalf("a %d-byte datagram from container a to container b came not back across the tunnel", size)
		}
	}

	// Broadcasts: a DHCP one (to port 67) is sent first, then an ordinary one; when the
	// ordinary one has arrived, the DHCP one, sent earlier on the same path, would have too.
	dhcp, plain := listenUDPIn(t, nsB, "0.0.0.0:67"), listenUDPIn(t, nsB, "0.0.0.0:6001")
	bc := listenUDPIn(t, nsA, "10.98.0.10:0")
	if err := setBroadcast(bc); err != nil {
		t.Fatal(err)
	}
	arrived := false
	for i := 0; i < 40 && !arrived; i++ {
		for _, port := range []int{67, 6001} {
			if _, err := bc.WriteTo([]byte("probe"), &net.UDPAddr{IP: net.ParseIP("10.98.0.255"), Port: port}); err != nil {
				t.Fatalf("broadcast to %d: %v", port, err)
			}
		}
		_ = plain.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		_, _, err := plain.ReadFrom(make([]byte, 64))
		arrived = err == nil
	}
	if !arrived {
		t.Fatal("a broadcast from container a never reached container b")
	}
	if queued(t, dhcp) {
		t.Error("a DHCP broadcast crossed the tunnel: each member's DHCP must stay on its side")
	}
}

// checkPeerDNS asks the gateway (member a's dnsmasq) from container a for the name of an
// instance on member b.
func checkPeerDNS(t *testing.T, nsName, name, want string) {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var c net.Conn
		err := inNetns(nsName, func() error {
			var err error
			c, err = (&net.Dialer{}).DialContext(ctx, network, "10.98.0.1:53")
			return err
		})
		return c, err
	}}
	var got []string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		got, _ = r.LookupHost(ctx, name)
		cancel()
		if slices.Contains(got, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s from container a = %v, want %s (answered by member a for an instance on member b)", name, got, want)
}
