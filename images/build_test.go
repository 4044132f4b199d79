package images

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lite/lxd-lite/idmap"
)

// TestBuildDebian12 really builds debian/12 with debootstrap from Debian's
// archive (root and network; about 1-2 minutes, or instant when the cache
// already holds it) and checks what the image holds. It runs only with
// LITE_TEST_BUILD=1; LITE_TEST_CACHE_DIR picks the cache (default
// /var/cache/lite-test/images, kept between runs).
func TestBuildDebian12(t *testing.T) {
	if os.Getenv("LITE_TEST_BUILD") != "1" {
		t.Skip("LITE_TEST_BUILD=1 runs the real debootstrap build")
	}
	requireRoot(t)
	cache := os.Getenv("LITE_TEST_CACHE_DIR")
	if cache == "" {
		cache = "/var/cache/lite-test/images"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	lines := 0
	b := &Builder{CacheDir: cache, Progress: func(msg string) {
		lines++
		if !strings.HasPrefix(msg, "debootstrap: ") {
			t.Log(msg)
		}
	}}
	r, _ := LookupRecipe("debian/12")
	start := time.Now()
	tarball, err := b.Build(ctx, r, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s in %s (%d progress lines)", tarball, time.Since(start).Round(time.Second), lines)
	if tarball != b.CachePath(r) {
		t.Fatalf("tarball %s, want %s", tarball, b.CachePath(r))
	}
	meta, err := ReadMetadata(tarball)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Architecture != HostArchitecture() || meta.Properties["release"] != "bookworm" || meta.Properties["version"] != "12" ||
		len(meta.Templates) != 2 {
		t.Fatalf("metadata %+v", meta)
	}
	dest := filepath.Join(t.TempDir(), "image")
	if err := Unpack(ctx, tarball, dest, idmap.Map{}); err != nil {
		t.Fatal(err)
	}
	checkBuiltRootfs(t, filepath.Join(dest, "rootfs"))
}

// checkBuiltRootfs checks the customization of a built image.
func checkBuiltRootfs(t *testing.T, root string) {
	t.Helper()
	for _, u := range maskedUnits {
		if link, _ := os.Readlink(filepath.Join(root, "etc/systemd/system", u)); link != "/dev/null" {
			t.Errorf("%s not masked", u)
		}
	}
	for _, g := range idleGenerators {
		if link, _ := os.Readlink(filepath.Join(root, "etc/systemd/system-generators", g)); link != "/dev/null" {
			t.Errorf("generator %s not masked", g)
		}
	}
	enabled := []string{
		"etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
		"etc/systemd/system/multi-user.target.wants/" + hostKeysUnitName,
		"etc/systemd/system/ssh.service.wants/" + hostKeysUnitName,
		"etc/systemd/system/multi-user.target.wants/ssh.service",
		"etc/systemd/system/multi-user.target.wants/cron.service",
		"etc/systemd/system/sysinit.target.wants/systemd-resolved.service",
	}
	for _, e := range enabled {
		if _, err := os.Lstat(filepath.Join(root, e)); err != nil {
			t.Errorf("%s missing", e)
		}
	}
	for _, f := range []string{"usr/sbin/sshd", "usr/sbin/cron", "usr/bin/ping", "usr/sbin/ip", "usr/bin/less",
		"usr/bin/ps", "etc/ssl/certs/ca-certificates.crt", "usr/bin/dbus-daemon", "etc/systemd/network/eth0.network"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("%s missing", f)
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "etc/machine-id")); err != nil || len(b) != 0 {
		t.Errorf("machine-id %q, %v", b, err)
	}
	if keys, _ := filepath.Glob(filepath.Join(root, "etc/ssh/ssh_host_*")); len(keys) != 0 {
		t.Errorf("ssh host keys shipped: %v", keys)
	}
	if link, _ := os.Readlink(filepath.Join(root, "etc/resolv.conf")); link != "../run/systemd/resolve/stub-resolv.conf" {
		t.Errorf("resolv.conf -> %q", link)
	}
	if sh, _ := os.ReadFile(filepath.Join(root, "etc/shadow")); !strings.HasPrefix(string(sh), "root:!") {
		t.Error("root password not locked")
	}
	if debs, _ := filepath.Glob(filepath.Join(root, "var/cache/apt/archives/*.deb")); len(debs) != 0 {
		t.Errorf("%d .deb files left", len(debs))
	}
	if src, _ := os.ReadFile(filepath.Join(root, "etc/apt/sources.list.d/debian.sources")); !strings.Contains(string(src), DefaultMirror) {
		t.Errorf("apt sources:\n%s", src)
	}
	// iputils-ping's postinst sets cap_net_raw; the tarball must carry it.
	if v, err := readXattrs(filepath.Join(root, "usr/bin/ping")); err != nil || len(v) == 0 || v[0].name != xattrCapability {
		t.Errorf("ping capability: %v %v", v, err)
	}
}
