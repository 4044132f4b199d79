package storage

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOverlaySnapshotRestoreCopy (root: overlay mounts): a snapshot and a copy hold the
// upper only, never the image layer; a restore swaps the upper and empties the work dir that
// belonged to the old one; the copy's work dir is owned by the container's root.
func TestOverlaySnapshotRestoreCopy(t *testing.T) {
	p, v := testVolume(t, Owner{UID: 100000, GID: 100000})
	ctx := context.Background()
	write := func(name, body string) {
		t.Helper()
		if err := p.Mount(v, func(root string) error {
			return os.WriteFile(filepath.Join(root, name), []byte(body), 0o644)
		}); err != nil {
			t.Fatal(err)
		}
	}
	write("mine", "snap")
	if err := p.CreateSnapshot(ctx, v, "snap0"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, filepath.Join(p.SnapshotPath(v, "snap0"), "upper")); len(got) != 1 || got[0] != "mine" {
		t.Errorf("snapshot upper %v, want only what the container wrote", got)
	}
	write("mine", "later")
	if err := os.WriteFile(filepath.Join(v.Path, "work", "stale"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.RestoreSnapshot(ctx, v, "snap0"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, filepath.Join(v.Path, "work")); len(got) != 0 {
		t.Errorf("work dir after restore %v, want empty", got)
	}
	if err := p.Mount(v, func(root string) error {
		if got := readString(t, filepath.Join(root, "mine")); got != "snap" {
			t.Errorf("restored file %q, want snap", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	dst := p.Volume("c2", v.Lower)
	if err := p.CopyVolume(ctx, v, dst, CopyOptions{Snapshots: true, Owner: Owner{UID: 100000, GID: 100000}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Delete(dst); err != nil {
			t.Error(err)
		}
	})
	st, err := os.Stat(filepath.Join(dst.Path, "work"))
	if err != nil {
		t.Fatal(err)
	}
	if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 100000 || sys.Gid != 100000 {
		t.Errorf("copy's work dir owned by %d:%d, want 100000:100000", sys.Uid, sys.Gid)
	}
	if got := names(t, filepath.Join(dst.Path, "snapshots")); len(got) != 1 || got[0] != "snap0" {
		t.Errorf("copy's snapshots %v", got)
	}
	if _, err := os.Stat(filepath.Join(dst.Path, "upper", "keep")); !os.IsNotExist(err) {
		t.Errorf("the image layer was copied into the upper: %v", err)
	}
}
