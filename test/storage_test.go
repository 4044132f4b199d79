package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// legacyUpper turns a stopped container's writable layer into what the old in-namespace overlay
// wrote: no host-layout marker, /usr/share/doc an opaque dir (user.overlay.opaque) holding only
// "legacy", /etc/motd whited out (a 0:0 character device owned by the container's root).
func legacyUpper(t *testing.T, upper string) {
	t.Helper()
	if err := unix.Lremovexattr(upper, "trusted.lite.overlay"); err != nil {
		t.Fatalf("remove marker: %v", err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(upper, &st); err != nil {
		t.Fatal(err)
	}
	uid, gid := int(st.Uid), int(st.Gid)
	for _, d := range []string{"usr", "usr/share", "usr/share/doc"} {
		p := filepath.Join(upper, d)
		if err := os.Mkdir(p, 0o755); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	doc := filepath.Join(upper, "usr/share/doc")
	if err := unix.Lsetxattr(doc, "user.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(doc, "legacy"), []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	motd := filepath.Join(upper, "etc/motd")
	if err := os.RemoveAll(motd); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(motd, unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(doc, "legacy"), motd} {
		if err := os.Lchown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

// checkLegacyView checks, inside a running container, what legacyUpper planted.
func checkLegacyView(t *testing.T, d *Daemon, name string) {
	t.Helper()
	if out := sh(t, d, name, "ls /usr/share/doc; cat /usr/share/doc/legacy; test ! -e /etc/motd && echo no-motd"); out != "legacy\nkept\nno-motd\n" {
		t.Errorf("%s: old-layout upper seen as %q, want only doc/legacy and no motd", name, out)
	}
}

// asNobody runs a command as host uid/gid 65534 with no groups.
func asNobody(args ...string) (string, error) {
	out, err := exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--"}, args...)...).CombinedOutput()
	return string(out), err
}

// TestStorageUpgradeCrashAndPermissions, on a daemon of its own: a writable layer in the old
// in-namespace layout (and a snapshot of it) is converted at start and keeps its data; a
// SIGKILLed lited leaves no host mount and the restart clears stale (stacked) mounts and
// tightens directory modes of older versions; no host user but root reaches a setuid file in a
// container or an image layer; delete leaves nothing.
func TestStorageUpgradeCrashAndPermissions(t *testing.T) {
	d := startDaemon(t)
	deleteOnCleanup(t, d, "lg1", "lg2")
	mustLite(t, d, "launch", "debian/12", "lg1")
	waitRunning(t, d, "lg1")
	mustLite(t, d, "stop", "lg1")
	upper := filepath.Join(d.Dir, "containers", "lg1", "upper")
	legacyUpper(t, upper)
	mustLite(t, d, "snapshot", "lg1", "legacy")
	mustLite(t, d, "start", "lg1")
	waitRunning(t, d, "lg1")
	checkLegacyView(t, d, "lg1")
	if _, err := unix.Lgetxattr(upper, "trusted.lite.overlay", nil); err != nil {
		t.Errorf("converted upper has no marker: %v", err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(upper, "usr/share/doc"), "trusted.overlay.opaque", nil); err != nil {
		t.Errorf("opaque marker not converted: %v", err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(upper, "usr/share/doc"), "user.overlay.opaque", nil); err == nil {
		t.Error("user.overlay.opaque left after the conversion")
	}
	sh(t, d, "lg1", "mv /usr/share/zoneinfo /usr/share/zi && rm /usr/share/doc/legacy")
	mustLite(t, d, "restore", "lg1", "legacy")
	waitRunning(t, d, "lg1")
	checkLegacyView(t, d, "lg1")
	sh(t, d, "lg1", "test -d /usr/share/zoneinfo && test ! -e /usr/share/zi")

	// Container root plants a setuid copy of id; the image layer has setuid files of its own.
	sh(t, d, "lg1", "cp /usr/bin/id /var/tmp/suid-id && chmod 4755 /var/tmp/suid-id")
	planted := filepath.Join(upper, "var/tmp/suid-id")
	layerFiles, _ := filepath.Glob(filepath.Join(d.Dir, "images", "*", "layers", "*", "rootfs", "usr", "bin", "passwd"))
	if len(layerFiles) == 0 {
		t.Fatal("no image layer with usr/bin/passwd found")
	}
	for _, p := range []string{planted, layerFiles[0]} {
		if st, err := os.Stat(p); err != nil || st.Mode()&os.ModeSetuid == 0 {
			t.Fatalf("%s: %v (want a setuid file, seen as root)", p, err)
		}
	}
	requireNoAccess := func(when string) {
		t.Helper()
		for _, p := range []string{planted, layerFiles[0]} {
			if out, err := asNobody("stat", p); err == nil || !strings.Contains(out, "Permission denied") {
				t.Errorf("%s: host user nobody reaches %s (%v): %s", when, p, err, out)
			}
		}
	}
	requireNoAccess("after launch")

	// Older versions left 0711 directories; a crash may leave stacked rootfs mounts.
	mustLite(t, d, "init", "debian/12", "lg2")
	lg2root := filepath.Join(d.Dir, "containers", "lg2", "rootfs")
	d.Kill(t)
	for _, p := range append([]string{filepath.Join(d.Dir, "containers", "lg1")}, filepath.Dir(filepath.Dir(filepath.Dir(layerFiles[0])))) {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(lg2root, 0o755); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := unix.Mount("tmpfs", lg2root, "tmpfs", 0, "size=1m"); err != nil {
			t.Fatal(err)
		}
	}
	d.Restart(t)
	if m := mountsUnder(filepath.Join(d.Dir, "containers")); len(m) != 0 {
		t.Errorf("mounts left under %s after the restart: %v", d.Dir, m)
	}
	requireNoAccess("after a restart on directories of an older version")
	requireStatus(t, d, "lg1", "RUNNING")
	checkLegacyView(t, d, "lg1")
	mustLite(t, d, "start", "lg2")
	waitRunning(t, d, "lg2")
	if m := mountsUnder(filepath.Join(d.Dir, "containers")); len(m) != 0 {
		t.Errorf("host mounts left while containers run: %v", m)
	}
	mustLite(t, d, "delete", "--force", "lg1", "lg2")
	for _, n := range []string{"lg1", "lg2"} {
		if _, err := os.Lstat(filepath.Join(d.Dir, "containers", n)); !os.IsNotExist(err) {
			t.Errorf("%s: directory left after delete: %v", n, err)
		}
	}
	if m := mountsUnder(filepath.Join(d.Dir, "containers")); len(m) != 0 {
		t.Errorf("mounts left after delete: %v", m)
	}
}
