package storage

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// The container's root overlay is mounted by lited on the host, as root of the initial user
// namespace, at <container>/rootfs; liblxc gets it as a plain "dir:" rootfs. Mounted inside the
// container's user namespace (liblxc's own overlay: backend) the kernel forces userxattr and
// redirect_dir=nofollow, so renaming any directory with a lower part fails with EXDEV and dpkg
// cannot install packages. Mounted here it takes redirect_dir=on and keeps its metadata in
// trusted.overlay.* xattrs, which nothing inside a container can read or write.
//
// index and metacopy stay off: index ties an upper to the exact lower inodes it was made on
// (file handles checked at every mount), which breaks when an upper is copied to another
// container, restored from a snapshot or imported, and refuses a second mount of a live upper
// (snapshots and backups read it while the container runs). metacopy would leave files in the
// upper whose data lives only in the lower, so an upper alone (a snapshot, a backup part) would
// no longer hold what the container wrote.
//
// The mount lives on the host only from Mount until the container has started: liblxc's child
// copies it into the container's new mount namespace, which keeps the overlay alive for as
// long as the container runs, and lited then detaches the host's copy. It is made private at
// once so neither the host's copy nor its removal propagates. A crash of lited in between leaves
// a stale mount, which the next Mount (or Unmount, Delete, Recover) removes: never stacked.

// rootfsDir is the mount point of a container's merged root filesystem (overlay), and the
// root filesystem itself with the dir driver.
const rootfsDir = "rootfs"

// upperMarker, set on an upper dir, says its overlay metadata is in trusted.overlay.* xattrs
// (the layout of an overlay mounted on the host). Uppers written by the old in-namespace
// mounts have user.overlay.* xattrs instead and lack it. A trusted.* xattr can be neither read
// nor written from inside a container.
const upperMarker = "trusted.lite.overlay"

const (
	userOverlay    = "user.overlay."
	trustedOverlay = "trusted.overlay."
)

// RootfsPath returns where the volume's root filesystem is seen on the host while mounted
// (overlay) or always (dir).
func (p *Pool) RootfsPath(v Volume) string { return filepath.Join(v.Path, rootfsDir) }

// overlayOptions returns the mount options of a container's read-write overlay.
func overlayOptions(v Volume) (string, error) {
	upper, work := filepath.Join(v.Path, "upper"), filepath.Join(v.Path, "work")
	for _, l := range []string{v.Lower, upper, work} {
		if strings.ContainsAny(l, ":,\\") {
			return "", fmt.Errorf("layer path %q has a character overlay cannot take", l)
		}
	}
	return fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s,redirect_dir=on,index=off,metacopy=off", v.Lower, upper, work), nil
}

// MountArgs returns mount(8)'s arguments that mount the volume's root overlay where Mount
// does (nil for a driver whose root is a plain directory), for liblxc to run before it
// starts a container that rebooted inside.
func (p *Pool) MountArgs(v Volume) ([]string, error) {
	if p.Driver != Overlay {
		return nil, nil
	}
	opts, err := overlayOptions(v)
	if err != nil {
		return nil, err
	}
	return []string{"-n", "-i", "-t", "overlay", "-o", opts, "overlay", p.RootfsPath(v)}, nil
}

// mountRootfs mounts the volume's overlay at its rootfs dir on the host, after clearing any
// mount a crash left there and converting an upper of the old layout, and returns the path.
func (p *Pool) mountRootfs(v Volume) (string, error) {
	target := p.RootfsPath(v)
	if err := unmountAll(target); err != nil {
		return "", err
	}
	if err := os.Mkdir(target, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("create mount point: %w", err)
	}
	if err := ConvertUpper(filepath.Join(v.Path, "upper")); err != nil {
		return "", err
	}
	opts, err := overlayOptions(v)
	if err != nil {
		return "", err
	}
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		return "", fmt.Errorf("mount overlay at %s: %w", target, err)
	}
	if err := unix.Mount("", target, "", unix.MS_PRIVATE, ""); err != nil {
		_ = unix.Unmount(target, unix.MNT_DETACH)
		return "", fmt.Errorf("make %s private: %w", target, err)
	}
	return target, nil
}

// Unmount detaches the host's view of the volume's root overlay (every copy a crash may have
// stacked there); a running container keeps its own. Nothing mounted is fine.
func (p *Pool) Unmount(v Volume) error {
	if p.Driver != Overlay {
		return nil
	}
	if err := unmountAll(p.RootfsPath(v)); err != nil {
		return err
	}
	// The mount point of older lite versions' template rendering.
	return unmountAll(filepath.Join(v.Path, "mnt"))
}

// unmountAll detaches every mount at target, top first, until /proc/self/mountinfo shows none.
func unmountAll(target string) error {
	for range 64 {
		mounted, err := IsMountPoint(target)
		if err != nil || !mounted {
			return err
		}
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
	return fmt.Errorf("unmount %s: still mounted after 64 unmounts", target)
}

// IsMountPoint reports whether /proc/self/mountinfo lists a mount at path (exactly).
func IsMountPoint(path string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && unescapeMountinfo(fields[4]) == path {
			return true, nil
		}
	}
	return false, s.Err()
}

// unescapeMountinfo undoes the octal escapes (\040 for a space...) of a mountinfo path.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%3o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ConvertUpper moves an upper dir written in the old layout (user.overlay.* xattrs) to the
// host layout (trusted.overlay.*) and marks it. It is idempotent: a marked upper is left alone,
// and a conversion cut short by a crash is finished by the next call (the marker is set last).
// The container must not run: its old overlay would read the attributes being moved.
// Whiteouts (0:0 character devices) are the same in both layouts.
func ConvertUpper(upper string) error {
	if _, err := unix.Lgetxattr(upper, upperMarker, nil); err == nil {
		return nil
	} else if !errors.Is(err, unix.ENODATA) {
		return fmt.Errorf("read marker of %s: %w", upper, err)
	}
	err := filepath.WalkDir(upper, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil // user.* xattrs cannot be set on symlinks
		}
		return convertXattrs(path)
	})
	if err != nil {
		return fmt.Errorf("convert upper %s to the host overlay layout: %w", upper, err)
	}
	return MarkUpper(upper)
}

// MarkUpper marks upper as written in the host layout (a new, copied or imported upper).
func MarkUpper(upper string) error {
	if err := unix.Lsetxattr(upper, upperMarker, []byte("1"), 0); err != nil {
		return fmt.Errorf("mark upper %s: %w", upper, err)
	}
	return nil
}

// convertXattrs renames path's user.overlay.* xattrs to trusted.overlay.*.
func convertXattrs(path string) error {
	names, err := listXattrs(path)
	if err != nil {
		return err
	}
	for _, name := range names {
		if !strings.HasPrefix(name, userOverlay) {
			continue
		}
		val, err := getXattr(path, name)
		if err != nil {
			return err
		}
		if err := unix.Lsetxattr(path, trustedOverlay+strings.TrimPrefix(name, userOverlay), val, 0); err != nil {
			return fmt.Errorf("set overlay xattr on %s: %w", path, err)
		}
		if err := unix.Lremovexattr(path, name); err != nil {
			return fmt.Errorf("remove %s from %s: %w", name, path, err)
		}
	}
	return nil
}

func listXattrs(path string) ([]string, error) {
	size, err := unix.Llistxattr(path, nil)
	if err != nil || size == 0 {
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		return nil, err
	}
	buf := make([]byte, size)
	if size, err = unix.Llistxattr(path, buf); err != nil {
		return nil, fmt.Errorf("list xattrs of %s: %w", path, err)
	}
	var names []string
	for _, n := range strings.Split(string(buf[:size]), "\x00") {
		if n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

func getXattr(path, name string) ([]byte, error) {
	size, err := unix.Lgetxattr(path, name, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s of %s: %w", name, path, err)
	}
	val := make([]byte, size)
	if size, err = unix.Lgetxattr(path, name, val); err != nil {
		return nil, fmt.Errorf("get %s of %s: %w", name, path, err)
	}
	return val[:size], nil
}

// legacyUpper reports whether the upper dir lacks the host-layout marker, so its overlay
// metadata, if any, is still in user.overlay.* xattrs (written by an older lite).
func legacyUpper(dir string) bool {
	_, err := unix.Lgetxattr(dir, upperMarker, nil)
	return errors.Is(err, unix.ENODATA)
}

// Open makes the pool's directory a private mount point: a bind mount onto itself, or the one
// a previous lited left (adopted, never stacked), with the host mounts a crash left below it
// removed. On a host whose / is shared (any systemd host) a new mount propagates to every peer
// and slave mount namespace at once (services with their own namespaces), and making it
// private afterwards would leave those copies there for good; below a private parent the
// overlays lited mounts never leave its own namespace. Docker's overlay2 does the same.
func (p *Pool) Open() error {
	if p.Driver != Overlay {
		return nil
	}
	if err := os.MkdirAll(p.Dir, 0o711); err != nil {
		return fmt.Errorf("create %s: %w", p.Dir, err)
	}
	mounted, err := IsMountPoint(p.Dir)
	if err != nil {
		return err
	}
	if err := unmountBelow(p.Dir); err != nil {
		return err
	}
	if !mounted {
		if err := unix.Mount(p.Dir, p.Dir, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s onto itself: %w", p.Dir, err)
		}
	}
	if err := unix.Mount("", p.Dir, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s private: %w", p.Dir, err)
	}
	return nil
}

// Close removes the bind mount Open made. Running containers keep their own copies of their
// root filesystems, in their own mount namespaces.
func (p *Pool) Close() error {
	if p.Driver != Overlay {
		return nil
	}
	return unmountAll(p.Dir)
}

// unmountBelow detaches every host mount strictly below dir, deepest first. While lited is
// down nothing of its own is mounted there (a container's root overlay lives in the
// container's namespace), so whatever is there is a crash's leftover.
func unmountBelow(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	var below []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) > 4 {
			if mp := unescapeMountinfo(fields[4]); strings.HasPrefix(mp, dir+"/") {
				below = append(below, mp)
			}
		}
	}
	if err := s.Err(); err != nil {
		return err
	}
	for i := len(below) - 1; i >= 0; i-- {
		if err := unix.Unmount(below[i], unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", below[i], err)
		}
	}
	return nil
}
