package lab

import (
	"os"
	"path/filepath"
	"testing"

	labfile "lite/profiles/lab"
)

func TestHostsFileBlock(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hosts")
	orig := "127.0.0.1 localhost\n::1 localhost\n"
	if err := os.WriteFile(p, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	a := &HostsFile{Path: p, Marker: "/tmp/a", Lock: filepath.Join(dir, "lock")}
	b := &HostsFile{Path: p, Marker: "/tmp/b", Lock: filepath.Join(dir, "lock")}
	read := func() string {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	if err := a.Set([]string{"10.1.1.10 lb.shop", "10.1.1.11 web1.shop"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Set([]string{"10.2.2.2 x.other"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Set([]string{"10.1.1.12 web2.shop"}); err != nil {
		t.Fatal(err)
	}
	want := orig + b.begin() + "\n10.2.2.2 x.other\n" + b.end() + "\n" + a.begin() + "\n10.1.1.12 web2.shop\n" + a.end() + "\n"
	if got := read(); got != want {
		t.Fatalf("hosts:\n%s\nwant:\n%s", got, want)
	}
	if err := a.Set(nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Set(nil); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != orig {
		t.Fatalf("after removing both blocks:\n%q\nwant %q", got, orig)
	}
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("mode: %v %v", st, err)
	}
}

func TestTrustedAddr(t *testing.T) {
	net := &labfile.Network{Name: "front", IPv4: "10.9.1.1/24"}
	auto := &labfile.Network{Name: "x", IPv4: "auto"}
	cases := []struct {
		net        *labfile.Network
		static     string
		live, want string
	}{
		{net, "", "10.9.1.50", "10.9.1.50"},
		{net, "", "127.0.0.1", ""}, // a node pointing its name at the host's loopback
		{net, "", "10.9.1.1", ""},  // or at the bridge
		{net, "", "10.9.2.7", ""},  // or outside its network
		{net, "10.9.1.10", "10.9.1.10", "10.9.1.10"},
		{net, "10.9.1.10", "10.9.1.11", ""},
		{auto, "", "10.1.2.3", ""}, // no subnet known: no name
		{net, "", "", ""},
	}
	for _, c := range cases {
		if got := trustedAddr(c.net, labfile.NIC{Name: "eth0", IPv4: c.static}, c.live); got != c.want {
			t.Errorf("%s static %q live %q = %q, want %q", c.net.IPv4, c.static, c.live, got, c.want)
		}
	}
}

// TestHostsFileMissing: a hosts file that does not exist yet (LITE_HOSTS_FILE naming a new
// one) is made when there is something to write, and left alone when there is not.
func TestHostsFileMissing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hosts")
	h := &HostsFile{Path: p, Marker: "/tmp/a", Lock: filepath.Join(dir, "lock")}
	if err := h.Set(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("Set(nil) on a missing file made it: %v", err)
	}
	if err := h.Set([]string{"10.1.1.10 lb.shop"}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != h.begin()+"\n10.1.1.10 lb.shop\n"+h.end()+"\n" {
		t.Fatalf("hosts made: %q, %v", b, err)
	}
}
