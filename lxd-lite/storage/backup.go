package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"lite/client/api"

	"golang.org/x/sys/unix"
)

// PrivateLayer is where an imported instance keeps its own image layer (metadata.yaml,
// templates/ and an empty rootfs/ as overlay's lower dir) when it came from a backup rather
// than from an image in the store.
func (p *Pool) PrivateLayer(name string) string { return filepath.Join(p.Dir, name, "layer") }

// MountMerged mounts a read-only overlay of layers (topmost first: a writable layer or a
// snapshot's, then the image layer) at target for fn. Nothing is written to the layers, so a
// snapshot can be read this way while the container runs.
func MountMerged(layers []string, target string, fn func() error) error {
	for _, l := range layers {
		if strings.ContainsAny(l, ":,") {
			return fmt.Errorf("layer path %q has a character overlay cannot take", l)
		}
	}
	// A writable layer keeps its overlay metadata in trusted.overlay.* (host layout), or in
	// user.overlay.* when an older lite wrote it and no start has converted it yet.
	opts := "lowerdir=" + strings.Join(layers, ":") + ",redirect_dir=follow"
	if legacyUpper(layers[0]) {
		opts = "lowerdir=" + strings.Join(layers, ":") + ",userxattr"
	}
	if err := unix.Mount("overlay", target, "overlay", unix.MS_RDONLY, opts); err != nil {
		return fmt.Errorf("mount merged view at %s: %w", target, err)
	}
	ferr := fn()
	if err := unix.Unmount(target, 0); err != nil {
		if uerr := unix.Unmount(target, unix.MNT_DETACH); uerr != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
	return ferr
}

// ensureDir makes dir (mode 0755) owned by owner.
func ensureDir(dir string, owner Owner) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.Chown(dir, owner.UID, owner.GID)
}

// AdoptImport turns an unpacked backup under tmp into the container directory of name:
// with private, tmp/layer/{metadata.yaml,templates} stay, tmp/layer/rootfs becomes an empty
// lower dir and tmp/upper (the full root filesystem) the writable layer; without, tmp/upper is
// a writable layer on a store image. A work dir is added. The final
// rename is atomic, so a crash leaves only tmp, which the daemon's recovery removes.
func (p *Pool) AdoptImport(tmp, name string, owner Owner, private bool) error {
	if private {
		if err := ensureDir(filepath.Join(tmp, "layer", "rootfs"), owner); err != nil {
			return fmt.Errorf("create private layer: %w", err)
		}
	}
	if err := ensureDir(filepath.Join(tmp, "work"), owner); err != nil {
		return fmt.Errorf("create work dir: %w", err)
	}
	if err := MarkUpper(filepath.Join(tmp, "upper")); err != nil {
		return err
	}
	dst := filepath.Join(p.Dir, name)
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("container directory %s already exists: %w", dst, api.ErrAlreadyExists)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("move imported instance into place: %w", err)
	}
	return p.Secure(Volume{Path: dst})
}
