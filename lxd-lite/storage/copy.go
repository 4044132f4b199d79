package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"lite/client/api"
	"lite/lxd-lite/revert"
)

// CopyOptions says what CopyVolume copies.
type CopyOptions struct {
	// Snapshot, when set, is the snapshot of the source whose layer becomes the new writable
	// layer (lite copy c1/snap0 c2); else the source's live layer is copied.
	Snapshot string
	// Snapshots copies the source's snapshots too (not with Snapshot).
	Snapshots bool
	// Owner owns the new overlay work dir (the container's root).
	Owner Owner
}

// CopyVolume makes dst (which must not exist) a copy of src's writable layer, and of its
// snapshots when asked; the image layer is shared, never copied. On error it leaves nothing
// behind; a crash leaves a directory without a database row, which the daemon's recovery
// removes at the next start. The caller freezes a running source.
func (p *Pool) CopyVolume(ctx context.Context, src, dst Volume, opts CopyOptions) error {
	rev := revert.New()
	defer rev.Fail()
	if err := makeVolumeDir(dst.Path, rev); err != nil {
		return err
	}
	from := filepath.Join(src.Path, p.Layer())
	if opts.Snapshot != "" {
		from = filepath.Join(p.SnapshotPath(src, opts.Snapshot), p.Layer())
	}
	if err := copyTree(ctx, from, filepath.Join(dst.Path, p.Layer())); err != nil {
		return err
	}
	if p.Driver == Overlay {
		work := filepath.Join(dst.Path, "work")
		if err := os.Mkdir(work, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", work, err)
		}
		if err := os.Chown(work, opts.Owner.UID, opts.Owner.GID); err != nil {
			return fmt.Errorf("chown %s: %w", work, err)
		}
	}
	// An instance imported from a backup has its own image layer: the copy needs it too.
	if layer := filepath.Join(src.Path, "layer"); isDirPath(layer) {
		if err := copyTree(ctx, layer, filepath.Join(dst.Path, "layer")); err != nil {
			return err
		}
	}
	// The instance's own metadata.yaml and templates (LXD copies them with the instance).
	if meta := filepath.Join(src.Path, "meta"); isDirPath(meta) {
		if err := copyTree(ctx, meta, filepath.Join(dst.Path, "meta")); err != nil {
			return err
		}
	}
	if opts.Snapshots && opts.Snapshot == "" {
		snaps := filepath.Join(src.Path, "snapshots")
		if _, err := os.Stat(snaps); err == nil {
			if err := copyTree(ctx, snaps, filepath.Join(dst.Path, "snapshots")); err != nil {
				return err
			}
		}
	}
	if err := p.Secure(dst); err != nil {
		return err
	}
	rev.Success()
	return nil
}

// Rename moves a volume's directory to another container name.
func (p *Pool) Rename(v Volume, newName string) error {
	dst := filepath.Join(p.Dir, newName)
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("container directory %s already exists: %w", dst, api.ErrAlreadyExists)
	}
	if err := os.Rename(v.Path, dst); err != nil {
		return fmt.Errorf("rename container directory: %w", err)
	}
	return nil
}

func isDirPath(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
