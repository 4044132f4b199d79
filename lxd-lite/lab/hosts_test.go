package lab

import (
	"os"
	"path/filepath"
	"testing"
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
