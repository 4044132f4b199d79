package network

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lite/client/api"
)

func TestValidateConfig(t *testing.T) {
	good := []map[string]string{
		{},
		{"ipv4.address": "auto", "ipv4.nat": "false"},
		{"ipv4.address": "none"},
		{"ipv4.address": "10.77.5.1/24", "ipv4.dhcp.ranges": "10.77.5.10-10.77.5.20,10.77.5.30-10.77.5.40", "dns.domain": "lab.test", "bridge.mtu": "1400"},
		{"ipv6.address": "none", "ipv4.dhcp": "false", "user.note": "x", "ipv4.dhcp.expiry": "30m"},
	}
	for _, c := range good {
		if err := ValidateConfig(c); err != nil {
			t.Errorf("ValidateConfig(%v) = %v", c, err)
		}
	}
	bad := []map[string]string{
		{"ipv4.address": "10.77.5.0/24"},   // the subnet's own address
		{"ipv4.address": "10.77.5.255/24"}, // broadcast
		{"ipv4.address": "10.77.5.1"},      // no prefix
		{"ipv4.address": "10.77.5.1/31"},
		{"ipv4.address": "300.1.1.1/24"},
		{"ipv4.address": "fd00::1/64"},
		{"ipv4.address": "127.0.0.2/8"},
		{"ipv4.nat": "maybe"},
		{"ipv6.address": "auto"},
		{"bridge.mtu": "100"},
		{"dns.domain": "Bad_Domain"},
		{"ipv4.address": "10.77.5.1/24", "ipv4.dhcp.ranges": "10.77.6.10-10.77.6.20"},
		{"ipv4.address": "10.77.5.1/24", "ipv4.dhcp.ranges": "10.77.5.20-10.77.5.10"},
		{"ipv4.dhcp.ranges": "10.77.5.10-10.77.5.20"}, // no subnet to check against
		{"no.such.key": "1"},
	}
	for _, c := range bad {
		if err := ValidateConfig(c); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("ValidateConfig(%v) = %v, want ErrInvalid", c, err)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, n := range []string{"litebr0", "lab-net", "a"} {
		if err := ValidateName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range []string{"", "-x", "a/b", "a b", "sixteen-chars-xx", "a:b"} {
		if err := ValidateName(n); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", n, err)
		}
	}
}

func TestSettingsDefaults(t *testing.T) {
	s := SettingsOf(map[string]string{"ipv4.address": "10.77.5.1/24"})
	if s.Domain != "lite" || !s.DHCP || s.NAT || s.Expiry != "1h" {
		t.Errorf("defaults = %+v", s)
	}
	if len(s.Ranges) != 1 || s.Ranges[0].Start.String() != "10.77.5.2" || s.Ranges[0].End.String() != "10.77.5.254" {
		t.Errorf("ranges = %v", s.Ranges)
	}
	s = SettingsOf(map[string]string{"ipv4.address": "10.77.5.9/28", "ipv4.nat": "true", "bridge.mtu": "1400"})
	if s.Ranges[0].Start.String() != "10.77.5.1" || s.Ranges[0].End.String() != "10.77.5.14" || !s.NAT || s.MTU != 1400 {
		t.Errorf("settings = %+v", s)
	}
}

func TestPickSubnetSkipsOverlaps(t *testing.T) {
	taken := netip.MustParsePrefix("10.0.0.0/9") // half of 10/8 is in use
	calls := 0
	gw, err := PickSubnet(func(p netip.Prefix) (string, error) {
		calls++
		if p.Overlaps(taken) {
			return "route", nil
		}
		return "", nil
	}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if gw.Bits() != 24 || taken.Contains(gw.Addr()) || gw.Addr().As4()[3] != 1 || gw.Addr().As4()[0] != 10 {
		t.Errorf("picked %s", gw)
	}
	_, err = PickSubnet(func(netip.Prefix) (string, error) { return "everything", nil }, rand.New(rand.NewPCG(1, 2)))
	if !errors.Is(err, api.ErrConflict) {
		t.Errorf("all taken: %v", err)
	}
}

func TestRenderConf(t *testing.T) {
	s := SettingsOf(map[string]string{"ipv4.address": "10.77.5.1/24", "dns.domain": "lab", "bridge.mtu": "1400"})
	got, err := renderConf("labnet", s, files{dir: "/x/networks/labnet"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"bind-interfaces\n", "except-interface=lo\n", "interface=labnet\n", "listen-address=10.77.5.1\n",
		"no-resolv\n", "domain=lab\n", "local=/lab/\n", "dhcp-range=10.77.5.2,10.77.5.254,1h\n",
		"dhcp-hostsfile=/x/networks/labnet/dnsmasq.hosts\n", "dhcp-leasefile=/x/networks/labnet/dnsmasq.leases\n",
		"pid-file=/x/networks/labnet/dnsmasq.pid\n", "dhcp-option-force=26,1400\n",
		"dhcp-lease-max=253\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("conf lacks %q:\n%s", want, got)
		}
	}
	// A /20's ranges hold more than dnsmasq's default of 1000 leases.
	s = SettingsOf(map[string]string{"ipv4.address": "10.77.0.1/20", "ipv4.dhcp.ranges": "10.77.0.10-10.77.0.19,10.77.4.0-10.77.15.254"})
	if got, err = renderConf("n", s, files{dir: "/d"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "dhcp-lease-max=3081\n") {
		t.Errorf("ranges of 10 and 3071 addresses: want dhcp-lease-max=3081:\n%s", got)
	}
	s = SettingsOf(map[string]string{"ipv4.address": "10.77.5.1/24", "ipv4.nat": "true", "ipv4.dhcp": "false"})
	if got, err = renderConf("n", s, files{dir: "/d"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "no-resolv") || strings.Contains(got, "dhcp-range") {
		t.Errorf("NAT network without DHCP:\n%s", got)
	}
}

func TestFirewallRender(t *testing.T) {
	f := &Firewall{Table: "lite_test"}
	if got := f.Render(nil); got != "table inet lite_test {}\ndelete table inet lite_test\ntable bridge lite_test {}\ndelete table bridge lite_test\n" {
		t.Errorf("empty = %q", got)
	}
	got := f.Render([]FirewallNet{
		{Bridge: "b2", Subnet: netip.MustParsePrefix("10.9.9.1/24"), NAT: true},
		{Bridge: "b1", Subnet: netip.MustParsePrefix("10.8.8.1/24")},
	})
	for _, want := range []string{
		"table inet lite_test {\n", "iifname \"b1\" oifname \"b1\" accept", "iifname \"b1\" drop", "oifname \"b1\" drop",
		"iifname \"b2\" accept", "oifname \"b2\" accept",
		"ip saddr 10.9.9.0/24 ip daddr != 10.9.9.0/24 masquerade",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rules lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "10.8.8.0/24") {
		t.Errorf("non-NAT network masqueraded:\n%s", got)
	}
	if strings.Index(got, "b1") > strings.Index(got, "b2") {
		t.Errorf("networks not in name order:\n%s", got)
	}
}

func TestHostsAndLeasesFiles(t *testing.T) {
	dir := t.TempDir()
	hf := filepath.Join(dir, "hosts")
	in := map[string]Host{
		"00:16:3e:00:00:01": {MAC: "00:16:3e:00:00:01", Name: "web1"},
		"00:16:3e:00:00:02": {MAC: "00:16:3e:00:00:02", IP: netip.MustParseAddr("10.1.1.9"), Name: "db1"},
	}
	if err := writeHosts(hf, in); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(hf)
	if string(b) != "00:16:3e:00:00:01,web1\n00:16:3e:00:00:02,10.1.1.9,db1\n" {
		t.Errorf("hosts file = %q", b)
	}
	out, err := readHosts(hf)
	if err != nil || len(out) != 2 || out["00:16:3e:00:00:02"] != in["00:16:3e:00:00:02"] {
		t.Errorf("read back %v, %v", out, err)
	}
	lf := filepath.Join(dir, "leases")
	if err := os.WriteFile(lf, []byte("1700000000 00:16:3e:00:00:01 10.1.1.5 web1 01:00:16:3e:00:00:01\n1700000000 00:16:3e:00:00:02 10.1.1.9 db1 *\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	leases, err := readLeases(lf)
	if err != nil || len(leases) != 2 || leases[0].IP.String() != "10.1.1.5" || leases[1].Name != "db1" {
		t.Fatalf("leases = %v, %v", leases, err)
	}
	if dropped, err := dropLeases(lf, map[string]bool{"00:16:3e:00:00:01": true}); err != nil || !dropped {
		t.Fatalf("drop = %v, %v", dropped, err)
	}
	leases, _ = readLeases(lf)
	if len(leases) != 1 || leases[0].Name != "db1" {
		t.Errorf("after drop = %v", leases)
	}
}

// The writers of dnsmasq's files refuse a control character whatever the caller checked:
// a newline in a name would be a directive of its own.
func TestGeneratedFilesRefuseControlChars(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"web1\ndhcp-script=/tmp/x", "web1\r", "web\x00", "a,b", "a b"} {
		hf := filepath.Join(dir, "hosts")
		err := writeHosts(hf, map[string]Host{"00:16:3e:00:00:01": {MAC: "00:16:3e:00:00:01", Name: name}})
		if !errors.Is(err, api.ErrInvalid) {
			t.Errorf("host name %q: err = %v, want ErrInvalid", name, err)
		}
		if _, serr := os.Stat(hf); serr == nil {
			t.Errorf("host name %q: hosts file written", name)
		}
	}
	s := Settings{Gateway: netip.MustParsePrefix("10.1.1.1/24"), DHCP: true, Domain: "lite\ndhcp-script=/tmp/x", Expiry: "1h",
		Ranges: []Range{{netip.MustParseAddr("10.1.1.2"), netip.MustParseAddr("10.1.1.9")}}}
	if conf, err := renderConf("b", s, files{dir: dir}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("conf with a newline in the domain: err = %v, conf:\n%s", err, conf)
	}
	if err := writeGenerated(filepath.Join(dir, "conf"), []byte("domain=lite\r\n")); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("a line with CR written: err = %v", err)
	}
	for _, v := range []string{"lite\nx", "1h\r", "\x00"} {
		for _, k := range []string{"dns.domain", "ipv4.dhcp.expiry", "user.note"} {
			if err := ValidateConfig(map[string]string{k: v}); !errors.Is(err, api.ErrInvalid) {
				t.Errorf("%s=%q: err = %v", k, v, err)
			}
		}
	}
}

// TestPruneNICs: the rules of an interface that is gone are removed, those of one that exists
// stay, a missing table is nothing to prune and any other nft failure is reported.
func TestPruneNICs(t *testing.T) {
	var scripts []string
	listing := "table bridge lite_test {\n\tmap nics {\n\t\ttype ifname : verdict\n" +
		"\t\telements = { \"lo\" : jump nic_lo,\n\t\t\t     \"vethgone0a1b\" : jump nic_vethgone0a1b }\n\t}\n}\n"
	listErr := error(nil)
	f := &Firewall{Table: "lite_test",
		Run: func(_ context.Context, script string, _ ...string) error {
			scripts = append(scripts, script)
			return nil
		},
		List: func(context.Context, ...string) (string, error) { return listing, listErr },
	}
	m := New(Options{Firewall: f, Log: slog.New(slog.DiscardHandler)})
	if err := m.PruneNICs(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(scripts) != 1 || !strings.Contains(scripts[0], `delete element bridge lite_test nics { "vethgone0a1b" }`) ||
		strings.Contains(scripts[0], `"lo"`) {
		t.Errorf("prune ran %q, want one unfilter of vethgone0a1b", scripts)
	}
	scripts, listErr = nil, errors.New("nft list map bridge lite_test nics: exit status 1: Error: No such file or directory")
	if err := m.PruneNICs(context.Background()); err != nil || len(scripts) != 0 {
		t.Errorf("no table: err %v, scripts %q", err, scripts)
	}
	listErr = errors.New("nft: exit status 1: Error: Operation not permitted")
	if err := m.PruneNICs(context.Background()); err == nil {
		t.Error("an nft failure was not reported")
	}
}

// TestFilterNICDeclaresHeadOnce: the base chain is declared by the first filter of a lited
// and again after lite removed the table; between, a nic's script only adds, and when it fails
// (the table is gone) the head comes back in a second script.
func TestFilterNICDeclaresHeadOnce(t *testing.T) {
	var scripts []string
	failNext := false
	f := &Firewall{Table: "lite_test", Run: func(_ context.Context, script string, _ ...string) error {
		scripts = append(scripts, script)
		if failNext {
			failNext = false
			return errors.New("nft -f -: exit status 1: Error: No such file or directory")
		}
		return nil
	}}
	ctx := context.Background()
	filter := func(host string) {
		t.Helper()
		if err := f.FilterNIC(ctx, NICFilter{HostName: host, MAC: "00:16:3e:00:00:01"}); err != nil {
			t.Fatal(err)
		}
	}
	const head = "flush chain bridge lite_test prerouting\nadd rule bridge lite_test prerouting iifname vmap @nics\n"
	heads := func() (n int) {
		for _, s := range scripts {
			n += strings.Count(s, head)
		}
		return n
	}
	filter("veth1")
	filter("veth2")
	if len(scripts) != 2 || heads() != 1 || !strings.Contains(scripts[1], `add element bridge lite_test nics { "veth2" : jump nic_veth2 }`) {
		t.Fatalf("two filters ran %q, want the head in the first only", scripts)
	}
	scripts, failNext = nil, true
	filter("veth3")
	if len(scripts) != 2 || heads() != 1 || strings.Contains(scripts[0], head) {
		t.Fatalf("a filter whose table is gone ran %q, want an add-only script, then one with the head", scripts)
	}
	scripts = nil
	if err := f.Apply(ctx, nil); err != nil {
		t.Fatal(err)
	}
	filter("veth4")
	if len(scripts) != 2 || heads() != 1 {
		t.Errorf("a filter after the table was removed ran %q, want the head again", scripts)
	}
}
