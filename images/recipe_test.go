package images

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLookupRecipe(t *testing.T) {
	cases := []struct {
		name, release, suite string
		resolved             bool
	}{
		{"debian/11", "11", "bullseye", false},
		{"debian/bullseye", "11", "bullseye", false},
		{"debian/12", "12", "bookworm", true},
		{"Debian/Bookworm", "12", "bookworm", true},
		{" debian/13 ", "13", "trixie", true},
		{"debian/trixie", "13", "trixie", true},
	}
	for _, c := range cases {
		r, ok := LookupRecipe(c.name)
		if !ok {
			t.Fatalf("%q: not found", c.name)
		}
		if r.OS != "debian" || r.Release != c.release || r.Suite != c.suite || r.Variant != "default" {
			t.Errorf("%q: got %+v", c.name, r)
		}
		if !slices.Contains(r.Aliases, "debian/"+c.release) || !slices.Contains(r.Aliases, "debian/"+c.suite) {
			t.Errorf("%q: aliases %v lack a form", c.name, r.Aliases)
		}
		for _, p := range []string{"systemd", "systemd-sysv", "dbus", "openssh-server", "cron", "iproute2",
			"iputils-ping", "netbase", "procps", "less", "ca-certificates"} {
			if !slices.Contains(r.Packages, p) {
				t.Errorf("%q: package %s missing", c.name, p)
			}
		}
		if got := slices.Contains(r.Packages, "systemd-resolved"); got != c.resolved {
			t.Errorf("%q: systemd-resolved included=%v, want %v", c.name, got, c.resolved)
		}
	}
	for _, bad := range []string{"", "debian", "debian/10", "ubuntu/20.04", "debian/12/x"} {
		if _, ok := LookupRecipe(bad); ok {
			t.Errorf("%q: found, want none", bad)
		}
	}
}

func TestLookupRecipeReturnsCopies(t *testing.T) {
	r, _ := LookupRecipe("debian/12")
	r.Packages[0] = "mutated"
	r.Aliases[0] = "mutated"
	again, _ := LookupRecipe("debian/12")
	if again.Packages[0] == "mutated" || again.Aliases[0] == "mutated" {
		t.Fatal("LookupRecipe shares its table with callers")
	}
}

func TestRecipeKey(t *testing.T) {
	r, _ := LookupRecipe("debian/12")
	k := r.Key()
	if len(k) != 12 || strings.Trim(k, "0123456789abcdef") != "" {
		t.Fatalf("key %q is not 12 hex digits", k)
	}
	if r.Key() != k {
		t.Fatal("key is not stable")
	}
	same := r
	same.Aliases = []string{"mybase"}
	same.Packages = slices.Clone(r.Packages)
	slices.Reverse(same.Packages)
	same.Packages = append(same.Packages, same.Packages[0]) // a duplicate
	if same.Key() != k {
		t.Error("key depends on aliases or package order")
	}
	changes := map[string]func(*Recipe){
		"mirror":   func(r *Recipe) { r.Mirror = "http://mirror.example/debian" },
		"packages": func(r *Recipe) { r.Packages = append(slices.Clone(r.Packages), "vim") },
		"suite":    func(r *Recipe) { r.Suite = "trixie" },
		"release":  func(r *Recipe) { r.Release = "13" },
		"variant":  func(r *Recipe) { r.Variant = "cloud" },
		"os":       func(r *Recipe) { r.OS = "ubuntu" },
	}
	for name, change := range changes {
		c := r
		change(&c)
		if c.Key() == k {
			t.Errorf("changing %s keeps the key", name)
		}
	}
	other, _ := LookupRecipe("debian/11")
	if other.Key() == k {
		t.Error("debian/11 and debian/12 share a key")
	}
}

func TestCachePath(t *testing.T) {
	r, _ := LookupRecipe("debian/12")
	b := &Builder{CacheDir: "/cache"}
	withDefault := r
	withDefault.Mirror = DefaultMirror
	want := "/cache/debian-12-" + withDefault.Key() + ".tar.gz"
	if got := b.CachePath(r); got != want {
		t.Fatalf("CachePath = %s, want %s", got, want)
	}
	b.Mirror = "http://other/debian"
	if b.CachePath(r) == want {
		t.Fatal("builder mirror does not change the cache key")
	}
}

func TestImageMetadata(t *testing.T) {
	r, _ := LookupRecipe("debian/12")
	now := time.Date(2024, 5, 6, 7, 8, 0, 0, time.UTC)
	meta, tpls := imageMetadata(r, now)
	if err := meta.Validate(); err != nil {
		t.Fatal(err)
	}
	if meta.CreationDate != now.Unix() || meta.Architecture != HostArchitecture() {
		t.Errorf("metadata %+v", meta)
	}
	want := map[string]string{"os": "Debian", "release": "bookworm", "version": "12", "variant": "default",
		"serial": "20240506_07:08", "architecture": hostDebianArch()}
	for k, v := range want {
		if meta.Properties[k] != v {
			t.Errorf("property %s = %q, want %q", k, meta.Properties[k], v)
		}
	}
	if d := meta.Properties["description"]; d != "Debian bookworm "+hostDebianArch()+" (lite 20240506_07:08)" {
		t.Errorf("description %q", d)
	}
	for _, p := range []string{"/etc/hostname", "/etc/hosts"} {
		tp, ok := meta.Templates[p]
		if !ok || !slices.Equal(tp.When, []string{"create", "copy", "rename"}) || tpls[tp.Template] == "" {
			t.Errorf("template for %s: %+v", p, tp)
		}
	}
	if !strings.Contains(tpls["hosts.tpl"], "127.0.1.1\t{{ instance.name }}") || !strings.Contains(tpls["hosts.tpl"], "::1") {
		t.Errorf("hosts.tpl:\n%s", tpls["hosts.tpl"])
	}
}

func TestNormalizeArchitecture(t *testing.T) {
	for in, want := range map[string]string{"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64",
		"AARCH64": "aarch64", "ppc64el": "ppc64le", "i386": "i686", "armhf": "armv7l"} {
		got, err := NormalizeArchitecture(in)
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %s", in, got, err, want)
		}
	}
	_, err := NormalizeArchitecture("z80")
	assertKind(t, err, ErrInvalid)
}
