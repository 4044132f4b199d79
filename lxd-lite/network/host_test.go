package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/netutil"
	"lite/test/roottest"
)

// childEnv marks the copy of the test binary that runs inside a network namespace of its own.
const childEnv = "LITE_NETWORK_HOSTTEST_CHILD"

// TestManagerInNetns runs the manager for real (bridges, dnsmasq, nft) in a throwaway network
// namespace: the test binary runs itself again under `unshare --net`, so the host's own
// interfaces, routes and nftables tables are never touched.
func TestManagerInNetns(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		roottest.Require(t, "a network namespace")
		cmd := exec.Command("unshare", "--net", "--", os.Args[0], "-test.run", "^TestManagerInNetns$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestManagerInNetns") {
			t.Fatalf("in a new network namespace: %v\n%s", err, out)
		}
		return
	}
	managerScenario(t)
}

func managerScenario(t *testing.T) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("/tmp", "lite-nethost-")
	if err != nil {
		t.Fatal(err)
	}
	// dnsmasq runs as nobody: it must reach its hosts file.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range dnsmasqPids(dir, "") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		os.RemoveAll(dir)
	})
	database, err := db.Open(ctx, filepath.Join(dir, "lite.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close()
	if err := netutil.SetUp("lo"); err != nil {
		t.Fatal(err)
	}
	opts := Options{DB: database, Dir: filepath.Join(dir, "networks"), Firewall: NewFirewall("lite_hosttest"),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	m := New(opts)
	if err := m.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	create := func(name string, cfg map[string]string) error {
		return m.Create(ctx, api.NetworksPost{Name: name, NetworkPut: api.NetworkPut{Config: cfg}})
	}
	if err := create("ltt0", map[string]string{"ipv4.address": "10.99.0.1/24", "ipv4.nat": "false"}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := netutil.IsBridge("ltt0"); !ok {
		t.Fatal("no bridge ltt0")
	}
	pids := dnsmasqPids(dir, "ltt0")
	if len(pids) != 1 {
		t.Fatalf("dnsmasq of ltt0: %v, want one", pids)
	}
	if rules := nftList(t); !strings.Contains(rules, `iifname "ltt0" drop`) {
		t.Fatalf("rules:\n%s", rules)
	}

	// Bad input changes nothing.
	if err := create("ltt1", map[string]string{"ipv4.address": "10.99.0.129/25"}); !errors.Is(err, api.ErrConflict) {
		t.Errorf("overlapping subnet: %v", err)
	}
	if err := create("ltt1", map[string]string{"ipv4.address": "10.99.1.1"}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("bad CIDR: %v", err)
	}
	if ok, _ := netutil.LinkExists("ltt1"); ok {
		t.Error("a refused create left its bridge")
	}
	if _, err := database.GetNetwork(ctx, "ltt1"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("a refused create left its row: %v", err)
	}

	// Automatic subnet: overlaps nothing, NAT off as configured, IPv6 none.
	if err := create("ltt2", nil); err != nil {
		t.Fatal(err)
	}
	n2, err := database.GetNetwork(ctx, "ltt2")
	if err != nil {
		t.Fatal(err)
	}
	gw, err := ParseGateway(n2.Config["ipv4.address"])
	if err != nil || gw.Masked().Overlaps(SettingsOf(map[string]string{"ipv4.address": "10.99.0.1/24"}).Gateway.Masked()) ||
		n2.Config["ipv4.nat"] != "false" || n2.Config["ipv6.address"] != "none" {
		t.Errorf("auto network config = %v (%v)", n2.Config, err)
	}

	// A restarted lited adopts dnsmasq and rebuilds the table without duplicates.
	m.Detach()
	m = New(opts)
	if err := m.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if now := dnsmasqPids(dir, "ltt0"); len(now) != 1 || now[0] != pids[0] {
		t.Errorf("after restart dnsmasq of ltt0: %v, want adopted %v", now, pids)
	}
	if c := strings.Count(nftList(t), `iifname "ltt0" drop`); c != 1 {
		t.Errorf("after restart: %d rules for ltt0", c)
	}

	// The supervisor restarts a dnsmasq that dies.
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dnsmasq restarted", func() bool {
		now := dnsmasqPids(dir, "ltt0")
		return len(now) == 1 && now[0] != pids[0]
	})

	// Reservations and address checks.
	if err := m.CheckAddress(ctx, "ltt0", "c1", "10.99.0.1"); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("gateway: %v", err)
	}
	if err := m.CheckAddress(ctx, "ltt0", "c1", "10.98.0.5"); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("outside: %v", err)
	}
	if err := m.CheckAddress(ctx, "ltt0", "c1", "10.99.0.5"); err != nil {
		t.Errorf("free address: %v", err)
	}
	if err := m.SetHost(ctx, "ltt0", Host{MAC: "00:16:3E:00:00:05", Name: "c1"}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetHost(ctx, "ltt0", Host{MAC: "00:16:3e:00:00:06", Name: "c2", IP: netip.MustParseAddr("10.99.0.6")}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(m.files("ltt0").hosts()); string(b) != "00:16:3e:00:00:05,c1\n00:16:3e:00:00:06,10.99.0.6,c2\n" {
		t.Errorf("hosts file = %q", b)
	}
	if l, err := m.Leases(ctx, "ltt0"); err != nil || len(l) != 1 || l[0].Type != "static" || l[0].Address != "10.99.0.6" {
		t.Errorf("leases = %+v, %v", l, err)
	}
	checkReserveAndFilter(ctx, t, m)
	if err := m.Release(ctx, "ltt0", "00:16:3e:00:00:06"); err != nil {
		t.Fatal(err)
	}
	for _, mac := range []string{"00:16:3e:00:00:07", "00:16:3e:00:00:08"} {
		if err := m.Release(ctx, "ltt0", mac); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Release(ctx, "ltt0", "00:16:3e:00:00:05"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(m.files("ltt0").hosts()); len(b) != 0 {
		t.Errorf("hosts file after release = %q", b)
	}

	// A config change rewrites the config and restarts dnsmasq (one of it).
	before := dnsmasqPids(dir, "ltt0")
	if err := m.Update(ctx, "ltt0", api.NetworkPut{Config: map[string]string{"ipv4.address": "10.99.0.1/24", "dns.domain": "lab"}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(m.files("ltt0").conf()); !strings.Contains(string(b), "domain=lab\n") {
		t.Errorf("conf after update:\n%s", b)
	}
	if now := dnsmasqPids(dir, "ltt0"); len(now) != 1 || now[0] == before[0] {
		t.Errorf("dnsmasq after update: %v (before %v)", now, before)
	}
	if err := m.Update(ctx, "ltt0", api.NetworkPut{Config: map[string]string{"ipv4.address": n2.Config["ipv4.address"]}}); !errors.Is(err, api.ErrConflict) {
		t.Errorf("update onto ltt2's subnet: %v", err)
	}

	// Without an address a network is a plain bridge: no dnsmasq, no IPv4.
	if err := m.Update(ctx, "ltt2", api.NetworkPut{Config: map[string]string{"ipv4.address": "none"}}); err != nil {
		t.Fatal(err)
	}
	if pids := dnsmasqPids(dir, "ltt2"); len(pids) != 0 {
		t.Errorf("dnsmasq of ltt2 with ipv4.address=none: %v", pids)
	}
	addrs, err := netutil.Addrs("ltt2")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if a.Addr().Is4() {
			t.Errorf("ltt2 keeps %s with ipv4.address=none", a)
		}
	}

	// Rename moves the bridge with the row; the old name is gone from the host.
	if err := m.Rename(ctx, "ltt2", "ltt3"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := netutil.IsBridge("ltt3"); !ok {
		t.Error("no bridge ltt3 after rename")
	}
	if ok, _ := netutil.LinkExists("ltt2"); ok {
		t.Error("bridge ltt2 left after rename")
	}
	// Create and rename share one name check: a network's name, or a host interface's.
	if err := m.Rename(ctx, "ltt3", "ltt0"); !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("rename onto ltt0: %v, want ErrAlreadyExists", err)
	}
	if err := m.Rename(ctx, "ltt3", "lo"); !errors.Is(err, api.ErrAlreadyExists) || !strings.Contains(err.Error(), "interface") {
		t.Errorf("rename onto lo: %v, want ErrAlreadyExists naming the host interface", err)
	}
	if err := create("lo", nil); !errors.Is(err, api.ErrAlreadyExists) || !strings.Contains(err.Error(), "interface") {
		t.Errorf("create lo: %v, want ErrAlreadyExists naming the host interface", err)
	}

	// Delete removes everything; with no network left the table goes too.
	for _, n := range []string{"ltt0", "ltt3"} {
		if err := m.Delete(ctx, n); err != nil {
			t.Fatal(err)
		}
		if ok, _ := netutil.LinkExists(n); ok {
			t.Errorf("bridge %s left", n)
		}
		if _, err := os.Stat(filepath.Join(dir, "networks", n)); err == nil {
			t.Errorf("files of %s left", n)
		}
	}
	if pids := dnsmasqPids(dir, ""); len(pids) != 0 {
		t.Errorf("dnsmasq left: %v", pids)
	}
	for _, fam := range []string{"inet", "bridge"} {
		if exec.Command("nft", "list", "table", fam, "lite_hosttest").Run() == nil {
			t.Errorf("nft table %s lite_hosttest left with no network", fam)
		}
	}
}

// checkReserveAndFilter: a dynamic nic's reservation is stable and taken into account; nic
// filters are installed and removed idempotently in the bridge table.
func checkReserveAndFilter(ctx context.Context, t *testing.T, m *Manager) {
	t.Helper()
	a, err := m.Reserve(ctx, "ltt0", Host{MAC: "00:16:3e:00:00:07", Name: "c3"})
	if err != nil || a != netip.MustParseAddr("10.99.0.2") {
		t.Fatalf("reserve c3: %v %v, want the first free address 10.99.0.2", a, err)
	}
	if again, err := m.Reserve(ctx, "ltt0", Host{MAC: "00:16:3e:00:00:07", Name: "c3"}); err != nil || again != a {
		t.Errorf("reserve c3 again: %v %v, want %v", again, err, a)
	}
	if b, err := m.Reserve(ctx, "ltt0", Host{MAC: "00:16:3e:00:00:08", Name: "c4"}); err != nil || b != netip.MustParseAddr("10.99.0.3") {
		t.Errorf("reserve c4: %v %v, want 10.99.0.3", b, err)
	}
	if err := m.CheckAddress(ctx, "ltt0", "c1", "10.99.0.2"); !errors.Is(err, api.ErrConflict) {
		t.Errorf("fixing c3's reserved address for c1: %v, want a conflict", err)
	}
	nf := NICFilter{HostName: "vethtest1", MAC: "00:16:3e:00:00:07", IPv4: a}
	for range 2 {
		if err := m.FilterNIC(ctx, nf); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("nft", "list", "table", "bridge", "lite_hosttest").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list table bridge: %v: %s", err, out)
	}
	for want, n := range map[string]int{`iifname vmap @nics`: 1, `"vethtest1" : jump nic_vethtest1`: 1,
		`ether saddr != 00:16:3e:00:00:07 drop`: 1, `ip saddr != 10.99.0.2 drop`: 1, `arp saddr ip != { 0.0.0.0, 10.99.0.2 } drop`: 1,
		`udp sport 67 udp dport 68 drop`: 1, `nd-router-advert drop`: 1} {
		if c := strings.Count(string(out), want); c != n {
			t.Errorf("bridge table holds %q %d times, want %d:\n%s", want, c, n, out)
		}
	}
	// The table removed behind lited's back: the next filter declares it again, head included.
	if out, err := exec.Command("nft", "delete", "table", "bridge", "lite_hosttest").CombinedOutput(); err != nil {
		t.Fatalf("nft delete table: %v: %s", err, out)
	}
	if err := m.FilterNIC(ctx, nf); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("nft", "list", "table", "bridge", "lite_hosttest").CombinedOutput(); strings.Count(string(out), "iifname vmap @nics") != 1 ||
		!strings.Contains(string(out), `"vethtest1" : jump nic_vethtest1`) {
		t.Errorf("filter after the table was removed:\n%s", out)
	}
	for range 2 {
		if err := m.UnfilterNIC(ctx, "vethtest1"); err != nil {
			t.Fatal(err)
		}
	}
	if out, _ := exec.Command("nft", "list", "table", "bridge", "lite_hosttest").CombinedOutput(); strings.Contains(string(out), "vethtest1") {
		t.Errorf("nic filter left after unfilter:\n%s", out)
	}
	if err := m.FilterNIC(ctx, NICFilter{HostName: "veth\n1", MAC: "00:16:3e:00:00:07"}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("filter with a newline in the name: %v", err)
	}
}

func nftList(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("nft", "list", "table", "inet", "lite_hosttest").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list table: %v: %s", err, out)
	}
	return string(out)
}

// dnsmasqPids finds the dnsmasq processes of network name under dir ("" = any network).
func dnsmasqPids(dir, name string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		s := string(b)
		if strings.Contains(s, dnsmasqBin) && strings.Contains(s, filepath.Join(dir, "networks", name)) {
			out = append(out, pid)
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
