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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
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

// Volume returns the volume of a container made from the layer rootfs lower.
func (p *Pool) Volume(name, lower string) Volume {
	return Volume{Path: filepath.Join(p.Dir, name), Lower: lower}
}

// Rootfs returns liblxc's rootfs spec for the volume. With overlay, liblxc mounts it inside
// the container's own mount namespace, so no mount is ever left on the host.
func (p *Pool) Rootfs(v Volume) string {
	if p.Driver == Overlay {
		return fmt.Sprintf("overlay:%s:%s", v.Lower, filepath.Join(v.Path, "upper"))
	}
	return "dir:" + filepath.Join(v.Path, "rootfs")
}

// Create makes the container's directory and writable layer, owned by the container's root.
// On error it leaves nothing behind.
func (p *Pool) Create(ctx context.Context, v Volume, owner Owner) (err error) {
	if err := os.Mkdir(v.Path, 0o711); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("container directory %s already exists", v.Path)
		}
		return fmt.Errorf("create container directory: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(v.Path)
		}
	}()
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
		return nil
	}
	// cp -a keeps owners, modes, xattrs, hard links and sparse files.
	out, err := exec.CommandContext(ctx, "cp", "-a", v.Lower, filepath.Join(v.Path, "rootfs")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("copy image layer: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Mount makes the volume's merged view visible at a temporary host path for fn (used to
// render templates before the first start), then unmounts it.
func (p *Pool) Mount(v Volume, fn func(rootfs string) error) error {
	if p.Driver != Overlay {
		return fn(filepath.Join(v.Path, "rootfs"))
	}
	target := filepath.Join(v.Path, "mnt")
	if err := os.Mkdir(target, 0o700); errors.Is(err, fs.ErrExist) {
		// Left by a crash mid-mount (templates render on every start): detach what may
		// still be mounted there and reuse it.
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("clear stale mount point %s: %w", target, err)
		}
	} else if err != nil {
		return fmt.Errorf("create mount point: %w", err)
	}
	defer os.Remove(target)
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", v.Lower, filepath.Join(v.Path, "upper"), filepath.Join(v.Path, "work"))
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay at %s: %w", target, err)
	}
	ferr := fn(target)
	if err := unix.Unmount(target, 0); err != nil {
		if uerr := unix.Unmount(target, unix.MNT_DETACH); uerr != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
	return ferr
}

// Delete removes the container's directory. It refuses while anything is mounted below it.
func (p *Pool) Delete(v Volume) error {
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
	root := filepath.Join(v.Path, "upper")
	if p.Driver != Overlay {
		root = filepath.Join(v.Path, "rootfs")
	}
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
