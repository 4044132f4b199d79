package images

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lite/lxd-lite/idmap"
)

// fakeRootfs makes the few files of a debootstrap tree customize touches.
func fakeRootfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"etc/shadow":                                    "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
		"etc/machine-id":                                "0123456789abcdef0123456789abcdef\n",
		"var/lib/dbus/machine-id":                       "0123456789abcdef0123456789abcdef\n",
		"etc/ssh/ssh_host_rsa_key":                      "key",
		"etc/ssh/ssh_host_rsa_key.pub":                  "pub",
		"etc/ssh/sshd_config":                           "config",
		"etc/resolv.conf":                               "nameserver 192.0.2.1\n",
		"etc/hostname":                                  "buildhost\n",
		"etc/apt/sources.list":                          "deb http://deb.debian.org/debian bookworm main\n",
		"var/cache/apt/archives/x.deb":                  "deb",
		"var/cache/apt/pkgcache.bin":                    "bin",
		"var/lib/apt/lists/a_b_InRelease":               "list",
		"var/lib/apt/lists/lock":                        "",
		"var/log/bootstrap.log":                         "log",
		"run/leftover":                                  "x",
		"usr/share/keyrings/debian-archive-keyring.gpg": "keys",
	}
	for rel, content := range files {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(root, "var/cache/apt/archives/partial"), 0o755)
	return root
}

func TestCustomizeSteps(t *testing.T) {
	root := fakeRootfs(t)
	r, _ := LookupRecipe("debian/12")
	r.Mirror = "http://mirror.test/debian"
	for _, step := range []func() error{
		func() error { return writeConfigFiles(root, r) },
		func() error { return resetIdentity(root) },
		func() error { return lockRoot(root) },
		func() error { return cleanRootfs(root) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if n := read("etc/systemd/network/eth0.network"); !strings.Contains(n, "Name=eth0") || !strings.Contains(n, "DHCP=ipv4") || !strings.Contains(n, "UseDomains=true") || !strings.Contains(n, "UseHostname=false") {
		t.Errorf("eth0.network:\n%s", n)
	}
	if u := read("etc/systemd/system/" + hostKeysUnitName); !strings.Contains(u, "ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key") ||
		!strings.Contains(u, "-t ed25519") || strings.Contains(u, "ssh-keygen -A") || !strings.Contains(u, "Before=ssh.service") {
		t.Errorf("host keys unit:\n%s", u)
	}
	if r := read("etc/systemd/resolved.conf.d/lite.conf"); !strings.Contains(r, "LLMNR=no") || !strings.Contains(r, "MulticastDNS=no") {
		t.Errorf("resolved.conf.d/lite.conf:\n%s", r)
	}
	if k := read("etc/ssh/sshd_config.d/lite-hostkeys.conf"); !strings.Contains(k, "ssh_host_ed25519_key") || strings.Contains(k, "rsa") {
		t.Errorf("sshd host keys config:\n%s", k)
	}
	if link, _ := os.Readlink(filepath.Join(root, "etc/resolv.conf")); link != "../run/systemd/resolve/stub-resolv.conf" {
		t.Errorf("resolv.conf -> %q", link)
	}
	src := read("etc/apt/sources.list.d/debian.sources")
	for _, want := range []string{"URIs: http://mirror.test/debian\n", "Suites: bookworm bookworm-updates\n",
		"URIs: http://mirror.test/debian-security\n", "Suites: bookworm-security\n", "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"} {
		if !strings.Contains(src, want) {
			t.Errorf("sources lack %q:\n%s", want, src)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "etc/apt/sources.list")); err == nil {
		t.Error("sources.list kept")
	}
	if read("etc/machine-id") != "" {
		t.Error("machine-id not emptied")
	}
	if link, _ := os.Readlink(filepath.Join(root, "var/lib/dbus/machine-id")); link != "/etc/machine-id" {
		t.Errorf("dbus machine-id -> %q", link)
	}
	if keys, _ := filepath.Glob(filepath.Join(root, "etc/ssh/ssh_host_*")); len(keys) != 0 {
		t.Errorf("host keys left: %v", keys)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/ssh/sshd_config")); err != nil {
		t.Error("sshd_config removed")
	}
	if sh := read("etc/shadow"); !strings.HasPrefix(sh, "root:!*:19000:") || !strings.Contains(sh, "\ndaemon:*:") {
		t.Errorf("shadow:\n%s", sh)
	}
	if read("etc/hostname") != "localhost\n" {
		t.Error("hostname placeholder not written")
	}
	for _, gone := range []string{"var/cache/apt/archives/x.deb", "var/cache/apt/pkgcache.bin", "var/lib/apt/lists/a_b_InRelease",
		"var/log/bootstrap.log", "run/leftover"} {
		if _, err := os.Lstat(filepath.Join(root, gone)); err == nil {
			t.Errorf("%s not cleaned", gone)
		}
	}
	for _, kept := range []string{"var/lib/apt/lists/lock", "var/cache/apt/archives/partial"} {
		if _, err := os.Lstat(filepath.Join(root, kept)); err != nil {
			t.Errorf("%s removed", kept)
		}
	}
	// lockRoot is idempotent.
	lockRoot(root)
	if !strings.HasPrefix(read("etc/shadow"), "root:!*:") {
		t.Error("root locked twice")
	}
}

func TestAptSourcesDefaultMirror(t *testing.T) {
	r, _ := LookupRecipe("debian/11")
	r.Mirror = DefaultMirror
	src := aptSources(t.TempDir(), r)
	if !strings.Contains(src, "URIs: http://deb.debian.org/debian-security\nSuites: bullseye-security") || strings.Contains(src, "Signed-By") {
		t.Errorf("sources:\n%s", src)
	}
	r.Mirror = "http://cache.local:3142/mirror"
	if src := aptSources(t.TempDir(), r); !strings.Contains(src, "URIs: http://deb.debian.org/debian-security") {
		t.Errorf("security for an odd mirror:\n%s", src)
	}
}

func TestWriteImageFiles(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	r, _ := LookupRecipe("debian/13")
	if err := writeImageFiles(dir, r, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "metadata.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Properties["release"] != "trixie" || m.Properties["version"] != "13" || m.CreationDate != 1700000000 {
		t.Errorf("metadata %+v", m)
	}
	for _, tpl := range []string{"hostname.tpl", "hosts.tpl"} {
		if _, err := os.Stat(filepath.Join(dir, "templates", tpl)); err != nil {
			t.Errorf("%s missing", tpl)
		}
	}
	// The templates render as LXD would.
	os.MkdirAll(filepath.Join(dir, "rootfs/etc"), 0o755)
	if err := RenderTemplates(dir, filepath.Join(dir, "rootfs"), TriggerCreate, TemplateContext{Name: "web1"}, idmap.Map{}); err != nil {
		t.Fatal(err)
	}
	hosts, _ := os.ReadFile(filepath.Join(dir, "rootfs/etc/hosts"))
	if !strings.Contains(string(hosts), "127.0.1.1\tweb1\n") || !strings.Contains(string(hosts), "127.0.0.1\tlocalhost") {
		t.Errorf("hosts:\n%s", hosts)
	}
}
