package network

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lite/client/api"
	"lite/db"
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestSliceRanges(t *testing.T) {
	one := []Range{{addr("10.0.0.2"), addr("10.0.0.254")}} // 253 addresses
	if got := SliceRanges(one, 0, 1); len(got) != 1 || got[0] != one[0] {
		t.Errorf("one member: %v", got)
	}
	want3 := [][]Range{
		{{addr("10.0.0.2"), addr("10.0.0.85")}},
		{{addr("10.0.0.86"), addr("10.0.0.169")}},
		{{addr("10.0.0.170"), addr("10.0.0.254")}},
	}
	for i, w := range want3 {
		if got := SliceRanges(one, i, 3); len(got) != 1 || got[0] != w[0] {
			t.Errorf("slice %d of 3 = %v, want %v", i, got, w)
		}
	}
	// Two ranges, two members: the split falls inside the second range.
	two := []Range{{addr("10.0.0.10"), addr("10.0.0.13")}, {addr("10.0.0.100"), addr("10.0.0.105")}} // 4 + 6
	if got := SliceRanges(two, 0, 2); len(got) != 2 || got[0] != two[0] || got[1] != (Range{addr("10.0.0.100"), addr("10.0.0.100")}) {
		t.Errorf("slice 0 of 2 = %v", got)
	}
	if got := SliceRanges(two, 1, 2); len(got) != 1 || got[0] != (Range{addr("10.0.0.101"), addr("10.0.0.105")}) {
		t.Errorf("slice 1 of 2 = %v", got)
	}
	// Every address is in exactly one slice, whatever the count.
	for count := 1; count <= 12; count++ {
		seen := map[netip.Addr]int{}
		for i := 0; i < count; i++ {
			for _, r := range SliceRanges(two, i, count) {
				for ip := r.Start; ip.Compare(r.End) <= 0; ip = ip.Next() {
					seen[ip]++
				}
			}
		}
		if len(seen) != 10 {
			t.Errorf("%d members: %d addresses covered, want 10", count, len(seen))
		}
		for ip, n := range seen {
			if n != 1 {
				t.Errorf("%d members: %s in %d slices", count, ip, n)
			}
		}
	}
}

func TestViewOf(t *testing.T) {
	ms := []Member{{"c", addr("192.0.2.3")}, {"a", addr("192.0.2.1")}, {"b", addr("192.0.2.2")}}
	v, err := viewOf("b", ms)
	if err != nil {
		t.Fatal(err)
	}
	if v.index != 1 || v.count != 3 || v.local.Address != addr("192.0.2.2") ||
		len(v.others) != 2 || v.others[0] != addr("192.0.2.1") || v.others[1] != addr("192.0.2.3") {
		t.Errorf("view = %+v", v)
	}
	if v, err := viewOf("", ms); v != nil || err != nil {
		t.Errorf("single host: %+v, %v", v, err)
	}
	if _, err := viewOf("z", ms); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("local not a member: %v", err)
	}
	if _, err := viewOf("a", append(ms, Member{"d", addr("192.0.2.1")})); !errors.Is(err, api.ErrConflict) {
		t.Errorf("two members on one address: %v", err)
	}
	if _, err := viewOf("a", append(ms, Member{"d", addr("fd00::1")})); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("IPv6 member: %v", err)
	}
	w, _ := viewOf("b", []Member{ms[2], ms[0], ms[1]})
	if !v.equal(w) || v.equal(nil) {
		t.Error("equal views compare unequal (or a view equals nil)")
	}
}

func TestTunnelIdentity(t *testing.T) {
	if _, err := VNI(0); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("VNI(0) = %v", err)
	}
	if _, err := VNI(1 << 24); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("VNI(2^24) = %v", err)
	}
	if v, err := VNI(7); v != 7 || err != nil {
		t.Errorf("VNI(7) = %d, %v", v, err)
	}
	n := TunnelName("sixteen-chars-x")
	if len(n) > 15 || n != TunnelName("sixteen-chars-x") || n == TunnelName("litebr0") || !ifnameRe.MatchString(n) {
		t.Errorf("TunnelName = %q", n)
	}
	gw := netip.MustParsePrefix("10.5.5.1/24")
	mac := GatewayMAC(3, gw)
	if mac[0] != 0x02 || mac.String() != GatewayMAC(3, gw).String() || mac.String() == GatewayMAC(4, gw).String() {
		t.Errorf("GatewayMAC = %s: want locally administered unicast, the same for the same network, another for another", mac)
	}
}

func TestMemberAddress(t *testing.T) {
	ctx := context.Background()
	if a, err := MemberAddress(ctx, "https://192.0.2.7:8443"); err != nil || a != addr("192.0.2.7") {
		t.Errorf("IPv4 URL: %v, %v", a, err)
	}
	for _, bad := range []string{"https://[fd00::1]:8443", "not a url", "https://:8443", "https://no-such-host.invalid:8443"} {
		if _, err := MemberAddress(ctx, bad); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("MemberAddress(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

// clusterManager returns a manager on a temp database, seeing itself as member index of
// count (no host side: only what is computed).
func clusterManager(t *testing.T, local string, members []Member) *Manager {
	t.Helper()
	dir := t.TempDir()
	database, err := db.Open(context.Background(), filepath.Join(dir, "lite.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { database.Close() })
	m := New(Options{DB: database, Dir: filepath.Join(dir, "networks"), Firewall: &Firewall{Table: "t"},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	v, err := viewOf(local, members)
	if err != nil {
		t.Fatal(err)
	}
	m.view.Store(v)
	return m
}

func TestClusterSettingsAndConf(t *testing.T) {
	m := clusterManager(t, "b", []Member{{"a", addr("192.0.2.1")}, {"b", addr("192.0.2.2")}})
	n := db.Network{ID: 9, Name: "labnet", Config: map[string]string{"ipv4.address": "10.77.5.1/24"}}
	s := m.settings(n)
	if !s.Cluster || s.MTU != 1450 || len(s.Ranges) != 1 || s.Ranges[0] != (Range{addr("10.77.5.128"), addr("10.77.5.254")}) {
		t.Errorf("settings = %+v: want the cluster MTU and the second half of the range", s)
	}
	conf, err := renderConf(n.Name, s, files{dir: "/x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"addn-hosts=/x/peers.hosts\n", "dhcp-range=10.77.5.128,10.77.5.254,1h\n", "dhcp-option-force=26,1450\n"} {
		if !strings.Contains(conf, want) {
			t.Errorf("conf lacks %q:\n%s", want, conf)
		}
	}
	n.Config["bridge.mtu"], n.Config["vxlan.port"] = "9000", "8472"
	if s := m.settings(n); s.MTU != 9000 || s.VXLANPort != 8472 {
		t.Errorf("bridge.mtu/vxlan.port set: %+v", s)
	}
	tn, err := m.tunnelOf(n, m.settings(n))
	if err != nil || tn.VNI != 9 || tn.Port != 8472 || tn.Local != addr("192.0.2.2") || len(tn.Peers) != 1 ||
		tn.Peers[0] != addr("192.0.2.1") || tn.Dev != TunnelName("labnet") || tn.GatewayIP != addr("10.77.5.1") {
		t.Errorf("tunnel = %+v, %v", tn, err)
	}
	m.view.Store(nil)
	if s := SettingsOf(map[string]string{"ipv4.address": "10.77.5.1/24"}); s.Cluster || s.MTU != 0 {
		t.Errorf("single host settings = %+v", s)
	}
	if tn, err := m.tunnelOf(n, m.settings(n)); tn != nil || err != nil {
		t.Errorf("single host tunnel = %+v, %v", tn, err)
	}
	if err := ValidateConfig(map[string]string{"vxlan.port": "0"}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("vxlan.port=0: %v", err)
	}
}

func TestFirewallRenderTunnel(t *testing.T) {
	f := &Firewall{Table: "lite_test"}
	gw := netip.MustParsePrefix("10.9.9.1/24")
	tn := &Tunnel{Dev: "ltvxabcd", VNI: 5, Port: 4789, Local: addr("192.0.2.1"), Peers: []netip.Addr{addr("192.0.2.2"), addr("192.0.2.3")},
		GatewayIP: gw.Addr(), GatewayMAC: GatewayMAC(5, gw)}
	got := f.Render([]FirewallNet{{Bridge: "b1", Subnet: gw, Tunnel: tn}})
	mac := tn.GatewayMAC.String()
	for _, want := range []string{
		"chain input {\n\t\ttype filter hook input priority filter; policy accept;\n",
		"udp dport 4789 @th,96,24 5 ip saddr != { 192.0.2.2, 192.0.2.3 } drop",
		"add chain bridge lite_test tunnel_in { type filter hook prerouting",
		"add chain bridge lite_test tunnel_out { type filter hook postrouting",
		"add rule bridge lite_test tunnel_in iifname \"ltvxabcd\" udp dport { 67, 68 } drop",
		"add rule bridge lite_test tunnel_out oifname \"ltvxabcd\" udp dport { 67, 68 } drop",
		"add rule bridge lite_test tunnel_out oifname \"ltvxabcd\" ether saddr " + mac + " drop",
		"add rule bridge lite_test tunnel_in iifname \"ltvxabcd\" ether daddr " + mac + " drop",
		"add rule bridge lite_test tunnel_in iifname \"ltvxabcd\" arp daddr ip 10.9.9.1 drop",
		"add rule bridge lite_test tunnel_out oifname \"ltvxabcd\" arp saddr ip 10.9.9.1 drop",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rules lack %q:\n%s", want, got)
		}
	}
	// A member alone in its cluster takes nothing from anyone.
	tn.Peers = nil
	if got := f.Render([]FirewallNet{{Bridge: "b1", Subnet: gw, Tunnel: tn}}); !strings.Contains(got, "udp dport 4789 @th,96,24 5 drop\n") {
		t.Errorf("no peers:\n%s", got)
	}
	// Without tunnels: no input chain, the bridge chains are removed.
	got = f.Render([]FirewallNet{{Bridge: "b1", Subnet: gw}})
	if strings.Contains(got, "chain input") || !strings.Contains(got, "delete chain bridge lite_test tunnel_in\n") ||
		!strings.Contains(got, "delete chain bridge lite_test tunnel_out\n") || strings.Contains(got, "add rule bridge lite_test tunnel") {
		t.Errorf("single host:\n%s", got)
	}
}

// TestPeerHosts: the addn-hosts file names the instances the database knows on the network
// (fixed and reserved addresses) that this member's dnsmasq does not serve itself.
func TestPeerHosts(t *testing.T) {
	ctx := context.Background()
	m := clusterManager(t, "a", []Member{{"a", addr("192.0.2.1")}, {"b", addr("192.0.2.2")}})
	n := db.Network{Name: "labnet", Type: "bridge", Config: map[string]string{"ipv4.address": "10.77.5.1/24"}}
	if err := m.o.DB.CreateNetwork(ctx, n); err != nil {
		t.Fatal(err)
	}
	// As if this member had brought the network up: this test must not touch the host.
	if n, err := m.o.DB.GetNetwork(ctx, "labnet"); err != nil {
		t.Fatal(err)
	} else {
		m.applied[n.Name] = rowKey(n)
	}
	nic := func(extra ...string) map[string]map[string]string {
		d := map[string]string{"type": "nic", "network": "labnet"}
		for i := 0; i+1 < len(extra); i += 2 {
			d[extra[i]] = extra[i+1]
		}
		return map[string]map[string]string{"eth0": d}
	}
	for _, inst := range []db.Instance{
		{Name: "Web2", Devices: nic(), Config: map[string]string{ReservedKey("eth0"): "10.77.5.130"}}, // on b, reserved
		{Name: "db1", Devices: nic("ipv4.address", "10.77.5.40")},                                     // on b, fixed
		{Name: "local1", Devices: nic(), Config: map[string]string{ReservedKey("eth0"): "10.77.5.2"}}, // ours
		{Name: "other", Devices: map[string]map[string]string{"eth0": {"type": "nic", "network": "elsewhere"}},
			Config: map[string]string{ReservedKey("eth0"): "10.77.5.99"}}, // another network
		{Name: "nodhcp", Devices: nic()}, // no address known
	} {
		inst.Type, inst.Architecture, inst.Profiles = "container", "x86_64", []string{}
		if inst.Config == nil {
			inst.Config = map[string]string{}
		}
		if _, err := m.o.DB.CreateInstance(ctx, inst); err != nil {
			t.Fatal(err)
		}
	}
	f := m.files("labnet")
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeHosts(f.hosts(), map[string]Host{"00:16:3e:00:00:01": {MAC: "00:16:3e:00:00:01", IP: addr("10.77.5.2"), Name: "local1"}}); err != nil {
		t.Fatal(err)
	}
	if err := m.refreshPeerHosts(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.peerHosts())
	if want := "10.77.5.40 db1.lite db1\n10.77.5.130 web2.lite web2\n"; err != nil || string(b) != want {
		t.Errorf("peers.hosts = %q, %v; want %q", b, err, want)
	}
	// A reserved address another member recorded is taken for this member's checks too.
	if err := m.CheckAddress(ctx, "labnet", "newone", "10.77.5.130"); !errors.Is(err, api.ErrConflict) {
		t.Errorf("address reserved on another member: %v, want ErrConflict", err)
	}
}
