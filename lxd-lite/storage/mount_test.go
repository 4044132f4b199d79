package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"lite/test/roottest"
)

// testVolume makes a lower layer (d/a, d/b, keep) and a container volume on it.
func testVolume(t *testing.T, owner Owner) (*Pool, Volume) {
	t.Helper()
	roottest.Require(t, "overlay mounts, trusted xattrs")
	base := t.TempDir()
	lower := filepath.Join(base, "lower")
	for _, f := range []string{"d/a", "d/b", "keep"} {
		p := filepath.Join(lower, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := &Pool{Dir: filepath.Join(base, "containers"), Driver: Overlay}
	if err := os.Mkdir(p.Dir, 0o711); err != nil {
		t.Fatal(err)
	}
	v := p.Volume("c1", lower)
	if err := p.Create(context.Background(), v, owner); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Delete(v); err != nil {
			t.Error(err)
		}
	})
	return p, v
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func requireUnmounted(t *testing.T, p *Pool, v Volume) {
	t.Helper()
	if m, err := IsMountPoint(p.RootfsPath(v)); err != nil || m {
		t.Fatalf("%s still mounted (%v)", p.RootfsPath(v), err)
	}
}

// The host-side overlay renames directories that have a lower part (redirect_dir=on), which
// the in-namespace mount refused with EXDEV, and the rename survives a remount.
func TestMountRenamesLowerDirs(t *testing.T) {
	p, v := testVolume(t, Owner{UID: 100000, GID: 100000})
	err := p.Mount(v, func(root string) error {
		if err := os.Rename(filepath.Join(root, "d"), filepath.Join(root, "e")); err != nil {
			return err
		}
		if err := os.Mkdir(filepath.Join(root, "n"), 0o755); err != nil {
			return err
		}
		return os.Rename(filepath.Join(root, "n"), filepath.Join(root, "e", "n"))
	})
	if err != nil {
		t.Fatal(err)
	}
	requireUnmounted(t, p, v)
	if err := p.Mount(v, func(root string) error {
		if got := names(t, root); len(got) != 2 || got[0] != "e" || got[1] != "keep" {
			t.Errorf("root after remount: %v", got)
		}
		if got := names(t, filepath.Join(root, "e")); len(got) != 3 {
			t.Errorf("e after remount: %v, want a b n", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(v.Path, "upper", "e"), "trusted.overlay.redirect", nil); err != nil {
		t.Errorf("no trusted redirect on the renamed dir: %v", err)
	}
	st, err := os.Stat(v.Path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o100 {
		t.Errorf("unprivileged container dir mode %v, want 0100", st.Mode().Perm())
	}
}

// A mount that a crash left (even stacked) is cleared, never stacked again, and Delete never
// deletes through it.
func TestMountClearsStaleMounts(t *testing.T) {
	p, v := testVolume(t, Owner{})
	opts, err := overlayOptions(v)
	if err != nil {
		t.Fatal(err)
	}
	target := p.RootfsPath(v)
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Mount(v, func(root string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	requireUnmounted(t, p, v)
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		t.Fatal(err)
	}
	if err := p.Delete(v); err != nil {
		t.Fatal(err)
	}
	if got := names(t, v.Lower); len(got) != 2 {
		t.Errorf("lower changed by delete: %v", got)
	}
	if _, err := os.Stat(v.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("container dir left: %v", err)
	}
	if st, err := os.Stat(filepath.Dir(v.Path)); err != nil || !st.IsDir() {
		t.Fatal(err)
	}
	if err := os.Mkdir(v.Path, 0o700); err != nil { // for the cleanup's Delete
		t.Fatal(err)
	}
}

// An upper written by the old in-namespace mounts (user.overlay.* xattrs) is converted at its
// first mount and keeps its data: an opaque dir hides the lower's entries, a whiteout hides a
// lower file. A read-only merged view reads it right before and after the conversion.
func TestConvertLegacyUpper(t *testing.T) {
	p, v := testVolume(t, Owner{})
	upper := filepath.Join(v.Path, "upper")
	if err := unix.Lremovexattr(upper, upperMarker); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(upper, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(upper, "d", "new"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lsetxattr(filepath.Join(upper, "d"), "user.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(filepath.Join(upper, "keep"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	check := func(root string) error {
		if got := names(t, root); len(got) != 1 || got[0] != "d" {
			t.Errorf("root: %v, want only d (keep whited out)", got)
		}
		if got := names(t, filepath.Join(root, "d")); len(got) != 1 || got[0] != "new" {
			t.Errorf("opaque d: %v, want only new", got)
		}
		return nil
	}
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := MountMerged([]string{upper, v.Lower}, ro, func() error { return check(ro) }); err != nil {
		t.Fatal(err)
	}
	if err := p.Mount(v, check); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(upper, "d"), "user.overlay.opaque", nil); !errors.Is(err, unix.ENODATA) {
		t.Errorf("user.overlay.opaque left: %v", err)
	}
	if legacyUpper(upper) {
		t.Error("converted upper not marked")
	}
	if err := ConvertUpper(upper); err != nil {
		t.Fatal(err)
	}
	if err := MountMerged([]string{upper, v.Lower}, ro, func() error { return check(ro) }); err != nil {
		t.Fatal(err)
	}
	if err := p.Mount(v, check); err != nil {
		t.Fatal(err)
	}
}

// The pool's directory is a private mount while lited runs: one bind, adopted by the next
// Open (never stacked), with a crash's stale overlay below it cleared; Close removes it.
func TestPoolOpenPrivateAdoptsAndCloses(t *testing.T) {
	p, v := testVolume(t, Owner{})
	count := func() int {
		n := 0
		for _, mp := range mountPointsUnder(t, p.Dir) {
			if mp == p.Dir {
				n++
			}
		}
		return n
	}
	if err := p.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	if _, err := p.mountRootfs(v); err != nil { // a crash between mount and detach
		t.Fatal(err)
	}
	if err := p.Open(); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Errorf("%d mounts at %s after two Opens, want 1", n, p.Dir)
	}
	if m, _ := IsMountPoint(p.RootfsPath(v)); m {
		t.Error("Open left the stale rootfs mount below the pool")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Errorf("%d mounts at %s after Close, want 0", n, p.Dir)
	}
}

func mountPointsUnder(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}
