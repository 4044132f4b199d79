// Package storage gives each container its root filesystem on top of an immutable image
// layer: an overlay (the image layer as lower dir, a writable upper dir of its own) where the
// kernel has overlayfs, else a full copy ("dir").
package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"lite/client/api"
	"lite/lxd-lite/revert"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Driver names.
const (
	Overlay = "overlay"
	Dir     = "dir"
)

// Pool makes container volumes under Dir/<name>/.
type Pool struct {
	Dir    string
	Driver string
}

// Volume is one container's filesystem.
type Volume struct {
	Path  string // the container's directory
	Lower string // image layer rootfs (overlay only)
}

// Owner is the host uid/gid that owns the container's root directory (container root).
type Owner struct{ UID, GID int }

// Detect picks overlay when the kernel has it, else dir.
func Detect() string {
	f, err := os.Open("/proc/filesystems")
	if err != nil {
		return Dir
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasSuffix(s.Text(), "\toverlay") {
			return Overlay
		}
	}
	return Dir
}

// Choose returns the driver named by want ("" picks with Detect); overlay needs the kernel's.
func Choose(want string) (string, error) {
	switch want {
	case "":
		return Detect(), nil
	case Dir:
		return Dir, nil
	case Overlay:
		if Detect() != Overlay {
			return "", fmt.Errorf("storage driver overlay: the kernel has no overlayfs (load the overlay module, or choose dir)")
		}
		return Overlay, nil
	}
	return "", fmt.Errorf("storage driver %q: unknown; choose overlay or dir", want)
}

// Volume returns the volume of a container made from the layer rootfs lower.
func (p *Pool) Volume(name, lower string) Volume {
	return Volume{Path: filepath.Join(p.Dir, name), Lower: lower}
}

// Rootfs returns liblxc's rootfs spec for the volume: always a plain directory. With overlay it
// is the mount point that Mount fills (see mount.go), so the container must be started inside
// Mount's callback.
func (p *Pool) Rootfs(v Volume) string { return "dir:" + p.RootfsPath(v) }

// Create makes the container's directory and writable layer, owned by the container's root.
// On error it leaves nothing behind.
func (p *Pool) Create(ctx context.Context, v Volume, owner Owner) error {
	rev := revert.New()
	defer rev.Fail()
	if err := makeVolumeDir(v.Path, rev); err != nil {
		return err
	}
	if p.Driver == Overlay {
		// liblxc puts overlay's work dir next to the upper dir, named "work".
		for _, d := range []string{"upper", "work"} {
			dir := filepath.Join(v.Path, d)
			if err := os.Mkdir(dir, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", dir, err)
			}
			if err := os.Chown(dir, owner.UID, owner.GID); err != nil {
				return fmt.Errorf("chown %s: %w", dir, err)
			}
		}
		if err := MarkUpper(filepath.Join(v.Path, "upper")); err != nil {
			return err
		}
	} else {
		// cp -a keeps owners, modes, xattrs, hard links and sparse files.
		out, err := exec.CommandContext(ctx, "cp", "-a", v.Lower, filepath.Join(v.Path, "rootfs")).CombinedOutput()
		if err != nil {
			return fmt.Errorf("copy image layer: %v: %s", err, strings.TrimSpace(string(out)))
		}
	}
	if err := p.Secure(v); err != nil {
		return err
	}
	rev.Success()
	return nil
}

// makeVolumeDir creates a container's directory, which must not exist yet, and adds its
// removal to rev.
func makeVolumeDir(path string, rev *revert.Reverter) error {
	if err := os.Mkdir(path, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("container directory %s already exists: %w", path, api.ErrAlreadyExists)
		}
		return fmt.Errorf("create container directory: %w", err)
	}
	rev.Add(func() { _ = os.RemoveAll(path) })
	return nil
}

// Mount makes the volume's merged root filesystem visible on the host at RootfsPath for fn
// (template rendering, file access and publishing of a stopped container, and the container's
// start: liblxc's child copies the mount into the container's namespace), then detaches the
// host's view.
func (p *Pool) Mount(v Volume, fn func(rootfs string) error) error {
	if p.Driver != Overlay {
		return fn(p.RootfsPath(v))
	}
	target, err := p.mountRootfs(v)
	if err != nil {
		return err
	}
	ferr := fn(target)
	if err := p.Unmount(v); err != nil && ferr == nil {
		return err
	}
	return ferr
}

// Delete removes the container's directory, after unmounting its root overlay if a crash left
// it mounted. It refuses while anything else is mounted below it.
func (p *Pool) Delete(v Volume) error {
	// A mount a crash left would let RemoveAll delete through the overlay.
	if err := p.Unmount(v); err != nil {
		return err
	}
	if err := os.RemoveAll(v.Path); err != nil {
		if errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("remove %s: still mounted: %w", v.Path, err)
		}
		return fmt.Errorf("remove %s: %w", v.Path, err)
	}
	return nil
}

// Usage returns the bytes the container added on top of its image (its whole tree with dir).
func (p *Pool) Usage(v Volume) int64 {
	return treeUsage(filepath.Join(v.Path, p.Layer()))
}

// treeUsage returns the bytes allocated to the files under root.
func treeUsage(root string) int64 {
	var n int64
	_ = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			}
		}
		return nil
	})
	return n
}
