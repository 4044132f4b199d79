package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// dirPool makes a dir-driver pool and an image layer rootfs (etc/hostname, bin/sh) beside it;
// it needs no root.
func dirPool(t *testing.T) (*Pool, string) {
	t.Helper()
	base := t.TempDir()
	lower := filepath.Join(base, "layer", "rootfs")
	writeTree(t, lower, map[string]string{"etc/hostname": "image", "bin/sh": "#!"})
	p := &Pool{Dir: filepath.Join(base, "containers"), Driver: Dir}
	if err := os.Mkdir(p.Dir, 0o711); err != nil {
		t.Fatal(err)
	}
	return p, lower
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for f, body := range files {
		path := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantAbsent(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: %v, want it gone", path, err)
	}
}

// createDir makes volume name from lower, with the pool's cleanup.
func createDir(t *testing.T, p *Pool, name, lower string) Volume {
	t.Helper()
	v := p.Volume(name, lower)
	if err := p.Create(context.Background(), v, Owner{}); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestChoose(t *testing.T) {
	if d, err := Choose(Dir); err != nil || d != Dir {
		t.Errorf("Choose(dir) = %q, %v", d, err)
	}
	if d, err := Choose(""); err != nil || d != Detect() {
		t.Errorf("Choose(\"\") = %q, %v, want Detect's %q", d, err, Detect())
	}
	if _, err := Choose("zfs"); err == nil || !strings.Contains(err.Error(), "overlay or dir") {
		t.Errorf("Choose(zfs): %v, want an error naming the choices", err)
	}
	if d, err := Choose(Overlay); Detect() == Overlay && (err != nil || d != Overlay) {
		t.Errorf("Choose(overlay) on a kernel with overlayfs: %q, %v", d, err)
	} else if Detect() != Overlay && err == nil {
		t.Error("Choose(overlay) without overlayfs succeeded")
	}
}

// TestDirCreateDelete: the dir driver copies the image layer into the container's rootfs,
// secures the directory by its owner, refuses an existing directory and leaves nothing when
// the copy fails.
func TestDirCreateDelete(t *testing.T) {
	p, lower := dirPool(t)
	v := createDir(t, p, "c1", lower)
	if got := readString(t, filepath.Join(p.RootfsPath(v), "etc/hostname")); got != "image" {
		t.Errorf("copied file %q", got)
	}
	if p.Rootfs(v) != "dir:"+filepath.Join(p.Dir, "c1", "rootfs") {
		t.Errorf("Rootfs = %q", p.Rootfs(v))
	}
	st, err := os.Stat(v.Path)
	if err != nil {
		t.Fatal(err)
	}
	// Secure: 0700 when the layer is root's (a privileged container) or lited's own, else
	// 0100 (TestMountRenamesLowerDirs checks a container root's).
	want := os.FileMode(0o100)
	if uid := st.Sys().(*syscall.Stat_t).Uid; uid == 0 || int(uid) == os.Geteuid() {
		want = 0o700
	}
	if st.Mode().Perm() != want {
		t.Errorf("container dir mode %v, want %v", st.Mode().Perm(), want)
	}
	if p.Usage(v) <= 0 {
		t.Error("Usage of a non-empty rootfs is 0")
	}
	err = p.Create(context.Background(), v, Owner{})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second create: %v", err)
	}
	if got := readString(t, filepath.Join(p.RootfsPath(v), "etc/hostname")); got != "image" {
		t.Errorf("a refused create changed the container: %q", got)
	}
	bad := p.Volume("c2", filepath.Join(p.Dir, "no-such-layer"))
	if err := p.Create(context.Background(), bad, Owner{}); err == nil {
		t.Error("create from a missing layer succeeded")
	}
	wantAbsent(t, bad.Path)
	if err := p.Delete(v); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, v.Path)
	if err := p.Delete(v); err != nil {
		t.Errorf("delete of a deleted volume: %v", err)
	}
	// Open and Close only act with overlay.
	if err := p.Open(); err != nil {
		t.Errorf("Open with dir: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close with dir: %v", err)
	}
}

// TestDirSnapshotRestore: a snapshot is a copy of the layer, replaced only with reuse, and
// a restore swaps it back in whole; a missing snapshot leaves the layer alone.
func TestDirSnapshotRestore(t *testing.T) {
	p, lower := dirPool(t)
	v := createDir(t, p, "c1", lower)
	ctx := context.Background()
	hostname := filepath.Join(p.RootfsPath(v), "etc/hostname")
	if err := os.WriteFile(hostname, []byte("snap"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.CreateSnapshot(ctx, v, "snap0"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hostname, []byte("later"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeTree(t, p.RootfsPath(v), map[string]string{"new": "x"})
	if got := readString(t, filepath.Join(p.SnapshotPath(v, "snap0"), "rootfs/etc/hostname")); got != "snap" {
		t.Errorf("snapshot holds %q", got)
	}
	if p.SnapshotUsage(v, "snap0") <= 0 {
		t.Error("SnapshotUsage is 0")
	}
	if err := p.RestoreSnapshot(ctx, v, "nope"); err == nil {
		t.Error("restore of a missing snapshot succeeded")
	}
	if got := readString(t, hostname); got != "later" {
		t.Errorf("a failed restore changed the layer: %q", got)
	}
	if err := p.RestoreSnapshot(ctx, v, "snap0"); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, hostname); got != "snap" {
		t.Errorf("restored file %q, want snap", got)
	}
	wantAbsent(t, filepath.Join(p.RootfsPath(v), "new"))
	wantAbsent(t, filepath.Join(v.Path, tmpPrefix+"rootfs"))
	if got := readString(t, filepath.Join(p.SnapshotPath(v, "snap0"), "rootfs/etc/hostname")); got != "snap" {
		t.Errorf("the restore changed the snapshot: %q", got)
	}

	if err := p.CreateSnapshot(ctx, v, "snap1"); err != nil {
		t.Fatal(err)
	}
	if err := p.RenameSnapshot(v, "snap0", "snap1"); err == nil {
		t.Error("rename onto an existing snapshot succeeded")
	}
	if err := p.RenameSnapshot(v, "snap0", "first"); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, p.SnapshotPath(v, "snap0"))
	if err := p.DeleteSnapshot(v, "first"); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, p.SnapshotPath(v, "first"))
	if err := p.DeleteSnapshot(v, "first"); err != nil {
		t.Errorf("delete of a deleted snapshot: %v", err)
	}
}

// TestSweepSnapshots removes what a crash left: an unfinished restore copy, temp snapshot
// dirs and snapshot dirs without a row; it keeps the named ones.
func TestSweepSnapshots(t *testing.T) {
	p, lower := dirPool(t)
	v := createDir(t, p, "c1", lower)
	if removed, err := p.SweepSnapshots(v, nil); err != nil || len(removed) != 0 {
		t.Errorf("sweep of a volume without snapshots: %v, %v", removed, err)
	}
	for _, d := range []string{"snapshots/keep/rootfs", "snapshots/orphan/rootfs", "snapshots/" + tmpPrefix + "snap-123/rootfs", tmpPrefix + "rootfs/etc"} {
		if err := os.MkdirAll(filepath.Join(v.Path, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := p.SweepSnapshots(v, map[string]bool{"keep": true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(removed, " ") != tmpPrefix+"rootfs "+tmpPrefix+"snap-123 orphan" {
		t.Errorf("removed %v", removed)
	}
	entries, err := os.ReadDir(filepath.Join(v.Path, "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "keep" {
		t.Errorf("snapshots left %v, want keep", entries)
	}
	wantAbsent(t, filepath.Join(v.Path, tmpPrefix+"rootfs"))
}

// TestDirCopyVolume: a copy takes the live layer or a snapshot's, the snapshots when asked,
// and an imported instance's private layer; an existing destination is refused untouched,
// and a copy that fails leaves nothing.
func TestDirCopyVolume(t *testing.T) {
	p, lower := dirPool(t)
	ctx := context.Background()
	src := createDir(t, p, "c1", lower)
	writeTree(t, p.RootfsPath(src), map[string]string{"a": "snap"})
	if err := p.CreateSnapshot(ctx, src, "snap0"); err != nil {
		t.Fatal(err)
	}
	writeTree(t, p.RootfsPath(src), map[string]string{"a": "live"})
	writeTree(t, filepath.Join(src.Path, "layer"), map[string]string{"metadata.yaml": "x"})

	all := p.Volume("all", lower)
	if err := p.CopyVolume(ctx, src, all, CopyOptions{Snapshots: true}); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(p.RootfsPath(all), "a")); got != "live" {
		t.Errorf("copy's file %q", got)
	}
	if got := readString(t, filepath.Join(p.SnapshotPath(all, "snap0"), "rootfs/a")); got != "snap" {
		t.Errorf("copy's snapshot file %q", got)
	}
	if got := readString(t, filepath.Join(all.Path, "layer/metadata.yaml")); got != "x" {
		t.Errorf("copy's private layer %q", got)
	}
	fromSnap := p.Volume("fromsnap", lower)
	if err := p.CopyVolume(ctx, src, fromSnap, CopyOptions{Snapshot: "snap0", Snapshots: true}); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(p.RootfsPath(fromSnap), "a")); got != "snap" {
		t.Errorf("copy of a snapshot has %q", got)
	}
	wantAbsent(t, filepath.Join(fromSnap.Path, "snapshots"))

	if err := p.CopyVolume(ctx, src, all, CopyOptions{}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("copy onto an existing volume: %v", err)
	}
	if got := readString(t, filepath.Join(p.RootfsPath(all), "a")); got != "live" {
		t.Errorf("a refused copy changed the destination: %q", got)
	}
	failed := p.Volume("failed", lower)
	if err := p.CopyVolume(ctx, src, failed, CopyOptions{Snapshot: "nope"}); err == nil {
		t.Error("copy of a missing snapshot succeeded")
	}
	wantAbsent(t, failed.Path)

	if err := p.Rename(all, "fromsnap"); err == nil {
		t.Error("rename onto an existing volume succeeded")
	}
	if err := p.Rename(all, "renamed"); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, all.Path)
	if got := readString(t, filepath.Join(p.Dir, "renamed", "rootfs", "a")); got != "live" {
		t.Errorf("renamed volume's file %q", got)
	}
}

// TestUnescapeMountinfo: the kernel escapes space, tab, newline and backslash as \ooo.
func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		`/plain`: "/plain", `/a\040b`: "/a b", `/tab\011x`: "/tab\tx", `/nl\012`: "/nl\n", `/back\134slash`: `/back\slash`,
		`/short\04`: `/short\04`,
	} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestIsMountPoint: / is a mount point; a fresh directory is not.
func TestIsMountPoint(t *testing.T) {
	if m, err := IsMountPoint("/"); err != nil || !m {
		t.Errorf("IsMountPoint(/) = %v, %v", m, err)
	}
	if m, err := IsMountPoint(t.TempDir()); err != nil || m {
		t.Errorf("IsMountPoint(temp dir) = %v, %v", m, err)
	}
}

// TestOverlayOptionsRefuseSeparators: a layer path with a character overlay's option parser
// splits on is refused, never passed on.
func TestOverlayOptionsRefuseSeparators(t *testing.T) {
	opts, err := overlayOptions(Volume{Path: "/c/c1", Lower: "/img/rootfs"})
	if err != nil || opts != "lowerdir=/img/rootfs,upperdir=/c/c1/upper,workdir=/c/c1/work,redirect_dir=on,index=off,metacopy=off" {
		t.Errorf("overlayOptions = %q, %v", opts, err)
	}
	for _, v := range []Volume{{Path: "/c/c1", Lower: "/img/a:b"}, {Path: "/c/c,1", Lower: "/img"}, {Path: `/c/c\1`, Lower: "/img"}} {
		if _, err := overlayOptions(v); err == nil {
			t.Errorf("overlayOptions(%+v) accepted a separator", v)
		}
	}
	if err := MountMerged([]string{"/a:b", "/c"}, t.TempDir(), func() error { return nil }); err == nil {
		t.Error("MountMerged accepted a layer with a colon")
	}
}
