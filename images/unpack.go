package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"lite/lxd-lite/idmap"

	"golang.org/x/sys/unix"
)

// limits bound what one image may make Unpack do.
type limits struct {
	entries int   // tar entries, of any type
	bytes   int64 // file content, added up
	pathLen int   // bytes in one entry name
}

// defaultLimits are far above any real image (a Debian image has ~15,000
// entries and ~300 MB) and far below what would hurt the host.
var defaultLimits = limits{entries: 2_000_000, bytes: 64 << 30, pathLen: 4096}

// Unpack extracts an image tarball's metadata.yaml, templates/ and rootfs/
// into dest (created if missing), whatever its compression. Owners are moved
// up by shift; setuid/setgid bits, xattrs (security.capability rewritten for
// the shift, POSIX ACLs shifted) and mtimes are kept; device nodes and other
// top-level entries are skipped. The tarball is untrusted: an entry that
// would land outside dest, an absolute or ".." path, a write through a
// symlink, a hard link to outside, or an image over the size limits fails
// the whole unpack with an error wrapping ErrInvalid. On any failure dest is
// removed.
func Unpack(ctx context.Context, tarball, dest string, shift idmap.Map) error {
	return unpack(ctx, tarball, dest, shift, defaultLimits)
}

// UnpackSplit is Unpack for a split image: metadata.yaml and templates/ come
// from the metadata tarball, the root filesystem from rootfs (a tarball of
// the tree itself, or a squashfs image), extracted under dest/rootfs with
// the same protections. maxBytes bounds the expanded content (0: the
// default bound).
func UnpackSplit(ctx context.Context, meta, rootfs, dest string, shift idmap.Map, maxBytes int64) error {
	return unpackParts(ctx, dest, shift, limitsFor(maxBytes), []part{{path: meta, metaOnly: true}, {path: rootfs, prefix: "rootfs"}})
}

// UnpackLimited is Unpack with a bound on the expanded content (0: the
// default bound).
func UnpackLimited(ctx context.Context, tarball, dest string, shift idmap.Map, maxBytes int64) error {
	return unpack(ctx, tarball, dest, shift, limitsFor(maxBytes))
}

// limitsFor returns the default limits with the content bound replaced.
func limitsFor(maxBytes int64) limits {
	lim := defaultLimits
	if maxBytes > 0 {
		lim.bytes = maxBytes
	}
	return lim
}

// unpack is Unpack with explicit limits (tests use small ones).
func unpack(ctx context.Context, tarball, dest string, shift idmap.Map, lim limits) error {
	return unpackParts(ctx, dest, shift, lim, []part{{path: tarball}})
}

// unpacker holds the state of one extraction.
type unpacker struct {
	root  int // O_PATH fd of the destination
	shift idmap.Map
	lim   limits

	prefix   string // see part
	metaOnly bool

	entries int
	bytes   int64
	dirs    []dirTime // directory mtimes, set last

	// The parent directory of the previous entry, kept open since tar
	// entries come grouped by directory.
	parentRel string
	parentFD  int
}

// dirTime is a directory mtime to restore once its contents are written.
type dirTime struct {
	rel   string
	mtime time.Time
}

func (u *unpacker) close() {
	if u.parentFD >= 0 {
		unix.Close(u.parentFD)
	}
	unix.Close(u.root)
}

// run extracts every entry, then restores directory mtimes.
func (u *unpacker) run(ctx context.Context, tr *tar.Reader) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar: %v: %w", err, ErrInvalid)
		}
		u.entries++
		if u.entries > u.lim.entries {
			return fmt.Errorf("more than %d entries: %w", u.lim.entries, ErrInvalid)
		}
		name := hdr.Name
		if err := u.rename(hdr); err != nil {
			return fmt.Errorf("%q: %w", name, err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return fmt.Errorf("%q: %w", name, err)
		}
	}
	return nil
}

// finish restores directory mtimes once every part is written.
func (u *unpacker) finish() error {
	for i := len(u.dirs) - 1; i >= 0; i-- {
		d := u.dirs[i]
		if err := u.setTimes(d.rel, d.mtime); err != nil {
			return fmt.Errorf("%q: %w", d.rel, err)
		}
	}
	return nil
}

// cleanEntryName turns a tar entry name into a clean relative path and says
// whether it belongs to the parts of an image Unpack extracts. Absolute
// names and ".." components are refused, not repaired: no real image has
// them.
func cleanEntryName(name string, maxLen int) (string, bool, error) {
	if len(name) > maxLen || strings.ContainsRune(name, 0) {
		return "", false, fmt.Errorf("bad entry name: %w", ErrInvalid)
	}
	if strings.HasPrefix(name, "/") {
		return "", false, fmt.Errorf("absolute entry name: %w", ErrInvalid)
	}
	var parts []string
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return "", false, fmt.Errorf("entry name with '..': %w", ErrInvalid)
		}
		parts = append(parts, c)
	}
	if len(parts) == 0 {
		return "", false, nil
	}
	switch parts[0] {
	case "rootfs", "templates":
	case "metadata.yaml":
		if len(parts) > 1 {
			return "", false, nil
		}
	default:
		return "", false, nil
	}
	return strings.Join(parts, "/"), true, nil
}

// entry extracts one tar entry.
func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	rel, ok, err := cleanEntryName(hdr.Name, u.lim.pathLen)
	if err != nil || !ok {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo, tar.TypeGNUSparse:
	default:
		// Device nodes cannot be used by an unprivileged container (liblxc
		// makes /dev itself); other types are not files.
		return nil
	}
	uid, err := shiftID(u.shift, idmap.User, hdr.Uid)
	if err != nil {
		return err
	}
	gid, err := shiftID(u.shift, idmap.Group, hdr.Gid)
	if err != nil {
		return err
	}
	parent, name := splitPath(rel)
	pfd, err := u.parent(parent)
	if err != nil {
		return err
	}
	if err := u.clear(pfd, name, hdr.Typeflag == tar.TypeDir); err != nil {
		return err
	}
	o := owner{uid: uid, gid: gid, mode: uint32(hdr.Mode) & 0o7777}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.dir(pfd, rel, name, hdr, o)
	case tar.TypeReg, tar.TypeGNUSparse:
		return u.file(pfd, name, hdr, o, r)
	case tar.TypeSymlink:
		return u.symlink(pfd, name, hdr, o)
	case tar.TypeLink:
		return u.hardlink(pfd, name, hdr)
	default:
		return u.fifo(pfd, name, hdr, o)
	}
}

// owner is the shifted owner and the mode of an entry.
type owner struct {
	uid, gid uint32
	mode     uint32
}

// parent returns an fd for the directory rel, creating it (owned by the
// shifted root) if the tarball did not list it first.
func (u *unpacker) parent(rel string) (int, error) {
	if u.parentFD >= 0 && u.parentRel == rel {
		return u.parentFD, nil
	}
	fd, err := mkdirBeneath(u.root, rel, u.shift.UID, u.shift.GID)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOTDIR) {
			return -1, fmt.Errorf("path through a symlink or non-directory: %v: %w", err, ErrInvalid)
		}
		return -1, err
	}
	if u.parentFD >= 0 {
		unix.Close(u.parentFD)
	}
	u.parentRel, u.parentFD = rel, fd
	return fd, nil
}

// clear removes what is at name so a new entry can take its place, as tar
// does; an existing directory stays when the new entry is a directory too.
func (u *unpacker) clear(pfd int, name string, isDir bool) error {
	var st unix.Stat_t
	err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if isDir {
			return nil
		}
		if err := unix.Unlinkat(pfd, name, unix.AT_REMOVEDIR); errors.Is(err, unix.ENOTEMPTY) {
			return fmt.Errorf("replace non-empty directory: %w", ErrInvalid)
		} else if err != nil {
			return fmt.Errorf("replace directory: %w", err)
		}
		return nil
	}
	if err := unix.Unlinkat(pfd, name, 0); err != nil {
		return fmt.Errorf("replace: %w", err)
	}
	return nil
}

func (u *unpacker) dir(pfd int, rel, name string, hdr *tar.Header, o owner) error {
	if err := unix.Mkdirat(pfd, name, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("mkdir: %w", err)
	}
	fd, err := unix.Openat(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	defer unix.Close(fd)
	if err := u.applyFD(fd, hdr, o); err != nil {
		return err
	}
	u.dirs = append(u.dirs, dirTime{rel: rel, mtime: hdr.ModTime})
	return nil
}

func (u *unpacker) file(pfd int, name string, hdr *tar.Header, o owner, r io.Reader) error {
	if hdr.Size < 0 || hdr.Size > u.lim.bytes-u.bytes {
		return fmt.Errorf("image content over %d bytes: %w", u.lim.bytes, ErrInvalid)
	}
	u.bytes += hdr.Size
	fd, err := unix.Openat(pfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if err := copySparse(f, r, hdr.Size); err != nil {
		return fmt.Errorf("write: %v: %w", err, ErrInvalid)
	}
	if err := u.applyFD(fd, hdr, o); err != nil {
		return err
	}
	return setTimesAt(pfd, name, hdr.ModTime)
}

func (u *unpacker) symlink(pfd int, name string, hdr *tar.Header, o owner) error {
	if hdr.Linkname == "" || len(hdr.Linkname) > u.lim.pathLen || strings.ContainsRune(hdr.Linkname, 0) {
		return fmt.Errorf("bad symlink target: %w", ErrInvalid)
	}
	// The target is stored, never followed: Unpack resolves nothing through
	// symlinks, and the container resolves them in its own root.
	if err := unix.Symlinkat(hdr.Linkname, pfd, name); err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	if err := unix.Fchownat(pfd, name, int(o.uid), int(o.gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := u.applyXattrs(hdr, func(k string, v []byte) error {
		return unix.Lsetxattr(procPath(pfd, name), k, v, 0)
	}); err != nil {
		return err
	}
	return setTimesAt(pfd, name, hdr.ModTime)
}

func (u *unpacker) hardlink(pfd int, name string, hdr *tar.Header) error {
	target, ok, err := cleanEntryName(hdr.Linkname, u.lim.pathLen)
	if err != nil {
		return fmt.Errorf("hard link target: %w", err)
	}
	if !ok {
		return fmt.Errorf("hard link to %q outside the image: %w", hdr.Linkname, ErrInvalid)
	}
	tparent, tname := splitPath(target)
	tfd, err := openBeneath(u.root, tparent, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return fmt.Errorf("hard link target %q: %v: %w", hdr.Linkname, err, ErrInvalid)
	}
	defer unix.Close(tfd)
	var st unix.Stat_t
	if err := unix.Fstatat(tfd, tname, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("hard link target %q: %v: %w", hdr.Linkname, err, ErrInvalid)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("hard link to directory %q: %w", hdr.Linkname, ErrInvalid)
	}
	// Flags 0: a symlink target is linked itself, never followed.
	if err := unix.Linkat(tfd, tname, pfd, name, 0); err != nil {
		return fmt.Errorf("hard link: %w", err)
	}
	return nil
}

func (u *unpacker) fifo(pfd int, name string, hdr *tar.Header, o owner) error {
	if err := unix.Mknodat(pfd, name, unix.S_IFIFO|0o600, 0); err != nil {
		return fmt.Errorf("mkfifo: %w", err)
	}
	if err := unix.Fchownat(pfd, name, int(o.uid), int(o.gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	// chmod after chown: chown clears setuid/setgid.
	if err := unix.Fchmodat(pfd, name, o.mode, 0); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := u.applyXattrs(hdr, func(k string, v []byte) error {
		return unix.Lsetxattr(procPath(pfd, name), k, v, 0)
	}); err != nil {
		return err
	}
	return setTimesAt(pfd, name, hdr.ModTime)
}

// applyFD sets owner, mode and xattrs on an open file or directory, in the
// order that keeps them all: chown clears setuid/setgid and file
// capabilities, so it goes first.
func (u *unpacker) applyFD(fd int, hdr *tar.Header, o owner) error {
	if err := unix.Fchown(fd, int(o.uid), int(o.gid)); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmod(fd, o.mode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return u.applyXattrs(hdr, func(k string, v []byte) error {
		return unix.Fsetxattr(fd, k, v, 0)
	})
}

// applyXattrs restores the entry's xattrs through set, shifted as needed.
// A filesystem that does not support some namespace (or user xattrs on a
// symlink) is tolerated, except for capabilities and ACLs, which matter.
func (u *unpacker) applyXattrs(hdr *tar.Header, set func(k string, v []byte) error) error {
	xattrs, err := entryXattrs(hdr)
	if err != nil {
		return err
	}
	for _, x := range xattrs {
		if skipXattr(x.name) {
			continue
		}
		v, err := shiftXattr(x.name, x.value, u.shift)
		if err != nil {
			return err
		}
		err = set(x.name, v)
		if err == nil {
			continue
		}
		important := x.name == xattrCapability || x.name == xattrACLAccess || x.name == xattrACLDefault
		if !important && (errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EPERM)) {
			continue
		}
		return fmt.Errorf("set xattr %s: %w", x.name, err)
	}
	return nil
}

// setTimes restores the mtime of rel (atime is set to it too).
func (u *unpacker) setTimes(rel string, mtime time.Time) error {
	parent, name := splitPath(rel)
	pfd, err := openBeneath(u.root, parent, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	return setTimesAt(pfd, name, mtime)
}

func setTimesAt(dirfd int, name string, mtime time.Time) error {
	ts := unix.NsecToTimespec(mtime.UnixNano())
	if err := unix.UtimesNanoAt(dirfd, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set mtime: %w", err)
	}
	return nil
}
