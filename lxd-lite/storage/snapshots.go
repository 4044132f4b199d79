package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"lite/client/api"

	"golang.org/x/sys/unix"
)

// Snapshots copy the container's writable layer (upper with overlay, the whole rootfs with
// dir) into <container>/snapshots/<name>/<layer>, with cp -a --reflink=auto. The alternative, an
// extra read-only overlay layer per snapshot, was rejected: a running container's overlay
// cannot gain a lower layer without a restart, every snapshot would deepen the stack that each
// lookup walks (and overlay caps it), and deleting a middle snapshot means merging layers. A
// copy costs only what the container wrote (the image layer is never copied; on btrfs or XFS
// the reflink makes it metadata only), and restore, delete and copy stay independent directory
// operations. Everything is written under a ".tmp-" name and renamed into place, so a crash
// never leaves a half-made snapshot: SweepSnapshots removes the temp dirs at the next start.

const tmpPrefix = ".tmp-"

// Layer is the name of a volume's writable layer directory.
func (p *Pool) Layer() string {
	if p.Driver == Overlay {
		return "upper"
	}
	return "rootfs"
}

// SnapshotPath returns the directory of a volume's snapshot.
func (p *Pool) SnapshotPath(v Volume, snap string) string {
	return filepath.Join(v.Path, "snapshots", snap)
}

// copyTree copies src to dst (which must not exist) keeping owners, modes, xattrs (overlay's
// whiteouts and opaque markers included), hard links and sparse files.
func copyTree(ctx context.Context, src, dst string) error {
	cmd := exec.CommandContext(ctx, "cp", "-a", "--reflink=auto", src, dst)
	// cp dies with lited: a copy left running after a crash would race the recovery that
	// removes its half-made destination.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("copy %s: %v: %s", src, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// CreateSnapshot copies the volume's writable layer into the snapshot snap. The caller keeps
// the container frozen meanwhile. An existing snapshot of that name is replaced only once the
// new copy is complete (--reuse).
func (p *Pool) CreateSnapshot(ctx context.Context, v Volume, snap string) error {
	dir := filepath.Join(v.Path, "snapshots")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create snapshots dir: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, tmpPrefix+snap+"-")
	if err != nil {
		return fmt.Errorf("create snapshot dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := copyTree(ctx, filepath.Join(v.Path, p.Layer()), filepath.Join(tmp, p.Layer())); err != nil {
		return err
	}
	final := p.SnapshotPath(v, snap)
	if err := os.RemoveAll(final); err != nil {
		return fmt.Errorf("replace snapshot %q: %w", snap, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("finish snapshot %q: %w", snap, err)
	}
	return nil
}

// RestoreSnapshot replaces the volume's writable layer with a copy of the snapshot's. The new
// layer is built beside the old one and swapped in with one atomic rename exchange, so a crash
// leaves either the old or the new layer in place, never a mix.
func (p *Pool) RestoreSnapshot(ctx context.Context, v Volume, snap string) error {
	src := filepath.Join(p.SnapshotPath(v, snap), p.Layer())
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("snapshot %q files: %w", snap, err)
	}
	layer := filepath.Join(v.Path, p.Layer())
	next := filepath.Join(v.Path, tmpPrefix+p.Layer())
	if err := os.RemoveAll(next); err != nil {
		return err
	}
	defer os.RemoveAll(next)
	if err := copyTree(ctx, src, next); err != nil {
		return err
	}
	if err := unix.Renameat2(unix.AT_FDCWD, next, unix.AT_FDCWD, layer, unix.RENAME_EXCHANGE); err != nil {
		return fmt.Errorf("swap in restored layer: %w", err)
	}
	if p.Driver == Overlay {
		// Overlay's work dir belongs to the old upper; empty it for the new one.
		work := filepath.Join(v.Path, "work")
		entries, err := os.ReadDir(work)
		if err != nil {
			return fmt.Errorf("read %s: %w", work, err)
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(work, e.Name())); err != nil {
				return fmt.Errorf("clean %s: %w", work, err)
			}
		}
	}
	return nil
}

// RenameSnapshot renames a snapshot's directory.
func (p *Pool) RenameSnapshot(v Volume, snap, newName string) error {
	dst := p.SnapshotPath(v, newName)
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("snapshot directory %s already exists: %w", dst, api.ErrAlreadyExists)
	}
	if err := os.Rename(p.SnapshotPath(v, snap), dst); err != nil {
		return fmt.Errorf("rename snapshot %q: %w", snap, err)
	}
	return nil
}

// DeleteSnapshot removes a snapshot's files (gone already is fine).
func (p *Pool) DeleteSnapshot(v Volume, snap string) error {
	if err := os.RemoveAll(p.SnapshotPath(v, snap)); err != nil {
		return fmt.Errorf("remove snapshot %q: %w", snap, err)
	}
	return nil
}

// SnapshotUsage returns the bytes a snapshot holds.
func (p *Pool) SnapshotUsage(v Volume, snap string) int64 {
	return treeUsage(p.SnapshotPath(v, snap))
}

// SweepSnapshots removes what a crash left in a volume: unfinished snapshot or restore copies,
// and snapshot directories that keep does not name (their row never got written, or was
// deleted before the files). It returns the names removed.
func (p *Pool) SweepSnapshots(v Volume, keep map[string]bool) ([]string, error) {
	var removed []string
	next := filepath.Join(v.Path, tmpPrefix+p.Layer())
	if _, err := os.Lstat(next); err == nil {
		if err := os.RemoveAll(next); err != nil {
			return nil, err
		}
		removed = append(removed, tmpPrefix+p.Layer())
	}
	dir := filepath.Join(v.Path, "snapshots")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return removed, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range entries {
		if keep[e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return nil, fmt.Errorf("remove leftover snapshot %s: %w", e.Name(), err)
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}

// CopyTree copies src to dst (which must not exist) as snapshots do (cp -a --reflink=auto).
func CopyTree(ctx context.Context, src, dst string) error { return copyTree(ctx, src, dst) }
