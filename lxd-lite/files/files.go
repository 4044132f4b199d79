// Package files reads and writes files inside a container's root filesystem on the
// container's behalf. Every path is resolved by the kernel inside the root (openat2 with
// RESOLVE_IN_ROOT and RESOLVE_NO_MAGICLINKS): ".." stops at the root, an absolute symlink
// means the container's root, and /proc magic links are refused, so no symlink planted or
// swapped in by the container can lead outside it. The last component is never followed:
// writes open it with O_NOFOLLOW relative to the already-resolved parent directory, reads
// report a symlink as a symlink. Owners travel in the container's ids; they are shifted
// through the container's id map here.
package files

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"lite/client/api"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/thread"
)

// Types of entries, as in LXD's X-LXD-type header.
const (
	TypeFile      = "file"
	TypeDirectory = "directory"
	TypeSymlink   = "symlink"
)

// Root is an open container root directory.
type Root struct {
	fd int
	im *idmap.Map // nil: privileged, ids are not shifted
}

// Open opens the directory dir (a container's rootfs as seen from the host) as a root.
func Open(dir string, im *idmap.Map) (*Root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open container root: %w", err)
	}
	return &Root{fd: fd, im: im}, nil
}

// Close releases the root.
func (r *Root) Close() error { return unix.Close(r.fd) }

// Info describes one entry, with owners in the container's ids.
type Info struct {
	Type     string
	UID, GID int64
	Mode     uint32 // permission bits (and setuid/setgid/sticky)
	Size     int64
	Modified time.Time
}

// Entry is what Get found: a regular file to read, a directory's names or a link's target.
type Entry struct {
	Info
	File   *os.File // TypeFile; the caller closes it
	Names  []string // TypeDirectory, sorted
	Target string   // TypeSymlink
}

// clean checks a container path: absolute, no "..", no NUL. It returns it cleaned.
func clean(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("path %q must be absolute: %w", p, api.ErrInvalid)
	}
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("path %q contains a NUL byte: %w", p, api.ErrInvalid)
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return "", fmt.Errorf("path %q must not contain \"..\": %w", p, api.ErrInvalid)
		}
	}
	return path.Clean(p), nil
}

// resolve opens p inside the root with flags; the kernel keeps every step inside it.
func (r *Root) resolve(p string, flags uint64) (int, error) {
	how := unix.OpenHow{
		Flags:   flags | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	rel := strings.TrimLeft(p, "/")
	if rel == "" {
		rel = "."
	}
	for {
		fd, err := unix.Openat2(r.fd, rel, &how)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue // a concurrent rename in the container; the kernel asks to retry
		}
		if err != nil {
			return -1, pathErr(p, err)
		}
		return fd, nil
	}
}

// pathErr gives a system error on p its api kind.
func pathErr(p string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%s: no such file or directory: %w", p, api.ErrNotFound)
	case errors.Is(err, unix.EEXIST):
		return fmt.Errorf("%s: already exists: %w", p, api.ErrAlreadyExists)
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("%s: is a symlink (or passes through a forbidden link); lite does not write through it: %w", p, api.ErrInvalid)
	case errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("%s: a path component is not a directory: %w", p, api.ErrInvalid)
	case errors.Is(err, unix.EISDIR):
		return fmt.Errorf("%s: is a directory: %w", p, api.ErrInvalid)
	case errors.Is(err, unix.ENOTEMPTY):
		return fmt.Errorf("%s: directory not empty: %w", p, api.ErrInvalid)
	case errors.Is(err, unix.EXDEV):
		return fmt.Errorf("%s: leads outside the container: %w", p, api.ErrForbidden)
	}
	return fmt.Errorf("%s: %w", p, err)
}

// asContainerRoot runs fn on a thread whose filesystem ids are the container root's, with
// the capabilities to set owners and modes as asked (see thread.Options); for a privileged
// container, here.
func (r *Root) asContainerRoot(fn func() error) error {
	return thread.Run(thread.Options{As: (*idmap.Map)(r.im), RaiseCaps: true}, fn)
}

// ids returns the root's id map: the zero Map, which leaves ids as they are, when the
// container is privileged.
func (r *Root) ids() idmap.Map {
	if r.im == nil {
		return idmap.Map{}
	}
	return idmap.Map(*r.im)
}

// toContainer maps a host id to the container's (65534, "nobody", when unmapped).
func (r *Root) toContainer(k idmap.Kind, id uint32) int64 {
	c, err := r.ids().ToContainer(k, id)
	if err != nil {
		return 65534
	}
	return int64(c)
}

// toHost maps a container id to the host's.
func (r *Root) toHost(k idmap.Kind, id int64) (int, error) {
	if id < 0 {
		return -1, fmt.Errorf("invalid id %d: %w", id, api.ErrInvalid)
	}
	h, err := r.ids().ToHost(k, id)
	if err != nil {
		return -1, fmt.Errorf("%w: %w", err, api.ErrInvalid)
	}
	return int(h), nil
}

func (r *Root) info(st *unix.Stat_t) Info {
	in := Info{
		UID: r.toContainer(idmap.User, st.Uid), GID: r.toContainer(idmap.Group, st.Gid),
		Mode: st.Mode & 0o7777, Size: st.Size, Modified: time.Unix(st.Mtim.Unix()),
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		in.Type = TypeFile
	case unix.S_IFDIR:
		in.Type = TypeDirectory
	case unix.S_IFLNK:
		in.Type = TypeSymlink
	default:
		in.Type = "special"
	}
	return in
}

// CheckDir reports whether p is a directory inside the root (symlinks followed, inside the
// root), as a process started there with p as its working directory needs.
func (r *Root) CheckDir(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q must be absolute: %w", p, api.ErrInvalid)
	}
	p, err := clean(path.Clean(p))
	if err != nil {
		return err
	}
	fd, err := r.resolve(p, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

// Get opens p without following its last component.
func (r *Root) Get(p string) (Entry, error) {
	p, err := clean(p)
	if err != nil {
		return Entry{}, err
	}
	fd, err := r.resolve(p, unix.O_PATH|unix.O_NOFOLLOW)
	if err != nil {
		return Entry{}, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return Entry{}, pathErr(p, err)
	}
	e := Entry{Info: r.info(&st)}
	switch e.Type {
	case TypeSymlink:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			return Entry{}, pathErr(p, err)
		}
		e.Target = string(buf[:n])
		return e, nil
	case TypeFile, TypeDirectory:
	default:
		return Entry{}, fmt.Errorf("%s: not a regular file, directory or symlink: %w", p, api.ErrInvalid)
	}
	// Reopen the very inode the O_PATH descriptor holds (no second path walk to race).
	f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return Entry{}, pathErr(p, err)
	}
	var st2 unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st2); err != nil || st2.Ino != st.Ino || st2.Dev != st.Dev {
		f.Close()
		return Entry{}, fmt.Errorf("%s: changed while being opened: %w", p, api.ErrConflict)
	}
	if e.Type == TypeFile {
		e.File = f
		return e, nil
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return Entry{}, pathErr(p, err)
	}
	sort.Strings(names)
	e.Names = names
	return e, nil
}

// PutOptions says what Put makes. UID, GID and Mode < 0 mean "unset": a new entry gets
// root's ids and 0644 (files), 0755 (directories); an existing one keeps its own.
type PutOptions struct {
	Type     string // file (default), directory or symlink
	UID, GID int64
	Mode     int64
	Append   bool // X-LXD-write: append
}

// parent resolves p's parent directory and returns it with p's last component.
func (r *Root) parent(p string) (int, string, error) {
	p, err := clean(p)
	if err != nil {
		return -1, "", err
	}
	dir, base := path.Split(p)
	if base == "" || base == "." {
		return -1, "", fmt.Errorf("path %q names the root directory: %w", p, api.ErrInvalid)
	}
	fd, err := r.resolve(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return -1, "", err
	}
	return fd, base, nil
}

// Put creates or replaces p from body (a file's content or a symlink's target).
func (r *Root) Put(p string, opts PutOptions, body io.Reader) error {
	dfd, base, err := r.parent(p)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	uid, gid := -1, -1
	if opts.UID >= 0 {
		if uid, err = r.toHost(idmap.User, opts.UID); err != nil {
			return err
		}
	}
	if opts.GID >= 0 {
		if gid, err = r.toHost(idmap.Group, opts.GID); err != nil {
			return err
		}
	}
	switch opts.Type {
	case "", TypeFile:
		return r.asContainerRoot(func() error { return r.putFile(dfd, base, p, opts, uid, gid, body) })
	case TypeDirectory:
		return r.asContainerRoot(func() error { return r.putDir(dfd, base, p, opts, uid, gid) })
	case TypeSymlink:
		return r.asContainerRoot(func() error { return r.putSymlink(dfd, base, p, uid, gid, body) })
	}
	return fmt.Errorf("unknown file type %q (use file, directory or symlink): %w", opts.Type, api.ErrInvalid)
}

// created fills in the owner a new entry gets when none was asked for: the container's root.
func (r *Root) created(uid, gid int) (int, int) {
	if r.im == nil {
		return uid, gid // privileged: lited's own ids (root) are the container root's
	}
	if uid < 0 {
		uid = int(r.im.UID)
	}
	if gid < 0 {
		gid = int(r.im.GID)
	}
	return uid, gid
}

func (r *Root) putFile(dfd int, base, p string, opts PutOptions, uid, gid int, body io.Reader) error {
	mode := uint32(0o644)
	if opts.Mode >= 0 {
		mode = uint32(opts.Mode) & 0o7777
	}
	isNew := true
	fd, err := unix.Openat(dfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if errors.Is(err, unix.EEXIST) {
		isNew = false
		fd, err = openExistingFile(dfd, base, p)
	}
	if errors.Is(err, api.ErrInvalid) {
		return err
	}
	if err != nil {
		return pathErr(p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return pathErr(p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%s: exists and is not a regular file: %w", p, api.ErrInvalid)
	}
	if err := r.setOwnerMode(putEntry{fd: fd, path: p, isNew: isNew}, uid, gid, mode, opts); err != nil {
		return err
	}
	if opts.Append {
		if _, err := f.Seek(0, io.SeekEnd); err != nil {
			return pathErr(p, err)
		}
	} else if err := f.Truncate(0); err != nil {
		return pathErr(p, err)
	}
	if _, err := io.Copy(f, body); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return f.Close()
}

// putEntry is an entry Put just opened: a file or directory, new or already there.
type putEntry struct {
	fd    int
	path  string
	isNew bool
}

// setOwnerMode gives an entry Put wrote its owner and mode: a new entry the owner asked for,
// else the container's root, and mode; an existing one the owner asked for (-1 keeps it) and
// mode only when one was asked for.
func (r *Root) setOwnerMode(e putEntry, uid, gid int, mode uint32, opts PutOptions) error {
	if e.isNew {
		uid, gid = r.created(uid, gid)
	}
	if err := unix.Fchown(e.fd, uid, gid); err != nil {
		return pathErr(e.path, err)
	}
	if e.isNew || opts.Mode >= 0 {
		if err := unix.Fchmod(e.fd, mode); err != nil {
			return pathErr(e.path, err)
		}
	}
	return nil
}

func (r *Root) putDir(dfd int, base, p string, opts PutOptions, uid, gid int) error {
	mode := uint32(0o755)
	if opts.Mode >= 0 {
		mode = uint32(opts.Mode) & 0o7777
	}
	isNew := true
	if err := unix.Mkdirat(dfd, base, mode); errors.Is(err, unix.EEXIST) {
		isNew = false
	} else if err != nil {
		return pathErr(p, err)
	}
	fd, err := unix.Openat(dfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return pathErr(p, err)
	}
	defer unix.Close(fd)
	if err := r.setOwnerMode(putEntry{fd: fd, path: p, isNew: isNew}, uid, gid, mode, opts); err != nil {
		return err
	}
	return nil
}

func (r *Root) putSymlink(dfd int, base, p string, uid, gid int, body io.Reader) error {
	target, err := io.ReadAll(io.LimitReader(body, unix.PathMax+1))
	if err != nil {
		return fmt.Errorf("read symlink target: %w", err)
	}
	if len(target) == 0 || len(target) > unix.PathMax {
		return fmt.Errorf("%s: symlink target must be 1 to %d bytes: %w", p, unix.PathMax, api.ErrInvalid)
	}
	// Only a symlink is replaced; a file or directory of that name is an error.
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			return fmt.Errorf("%s: already exists and is not a symlink: %w", p, api.ErrAlreadyExists)
		}
		if err := unix.Unlinkat(dfd, base, 0); err != nil {
			return pathErr(p, err)
		}
	}
	if err := unix.Symlinkat(string(target), dfd, base); err != nil {
		return pathErr(p, err)
	}
	uid, gid = r.created(uid, gid)
	if err := unix.Fchownat(dfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return pathErr(p, err)
	}
	return nil
}

// Delete removes a file, a symlink (not its target) or an empty directory.
func (r *Root) Delete(p string) error {
	dfd, base, err := r.parent(p)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return pathErr(p, err)
	}
	flags := 0
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		flags = unix.AT_REMOVEDIR
	}
	if err := r.asContainerRoot(func() error { return unix.Unlinkat(dfd, base, flags) }); err != nil {
		return pathErr(p, err)
	}
	return nil
}

// openExistingFile opens an existing regular file for writing. It looks before it opens: an
// O_PATH descriptor is checked to be a regular file, then that same inode is reopened, so a
// device node or fifo (which an open alone could trigger) is never opened for writing.
func openExistingFile(dfd int, base, p string) (int, error) {
	pfd, err := unix.Openat(dfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return -1, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return -1, fmt.Errorf("%s: exists and is not a regular file: %w", p, api.ErrInvalid)
	}
	return unix.Open(fmt.Sprintf("/proc/self/fd/%d", pfd), unix.O_WRONLY|unix.O_CLOEXEC, 0)
}
