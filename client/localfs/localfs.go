// Package localfs writes files on the client's side (file pull, export) without ever following
// a symlink it did not make. Content and names that come from a container or a server are
// hostile: a directory pulled once may hold a symlink the container planted, and a later write
// must replace or refuse it, never write through it.
//
// A Dir is an open directory; every child is reached by one name, opened with openat2 and
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, so neither a symlink nor ".." is followed. Files and
// symlinks are made under a fresh temporary name (O_CREAT|O_EXCL|O_NOFOLLOW) and renamed over
// the final name inside the same directory: whatever stood there (even a symlink) is replaced,
// never opened.
package localfs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is an open directory under which children are created without following symlinks.
type Dir struct {
	fd   int
	path string // for messages only
}

// OpenDir opens the directory p. p itself is the caller's own path (typed by the user) and is
// resolved normally; only what lies beneath it is protected.
func OpenDir(p string) (*Dir, error) {
	fd, err := unix.Open(p, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open directory", Path: p, Err: err}
	}
	return &Dir{fd: fd, path: p}, nil
}

// Close releases the directory.
func (d *Dir) Close() error { return unix.Close(d.fd) }

// Path is the directory's path as it was opened (for messages).
func (d *Dir) Path() string { return d.path }

func (d *Dir) join(name string) string { return filepath.Join(d.path, name) }

// checkName refuses anything that is not one plain path component.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("invalid file name %q: want one plain path component", name)
	}
	return nil
}

// openBeneath opens name (one component) under d without following any symlink.
func (d *Dir) openBeneath(name string, flags int) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(d.fd, name, &how)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if errors.Is(err, unix.ENOSYS) {
			// Kernels before 5.6: one component with O_NOFOLLOW is the same guarantee.
			return unix.Openat(d.fd, name, flags|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		}
		return fd, err
	}
}

// Mkdir creates the directory name under d (mode perm) or opens the one already there. A
// symlink (or anything else that is not a directory) in its place is refused, never followed.
func (d *Dir) Mkdir(name string, perm os.FileMode) (*Dir, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if err := unix.Mkdirat(d.fd, name, uint32(perm.Perm())); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, &os.PathError{Op: "mkdir", Path: d.join(name), Err: err}
	}
	fd, err := d.openBeneath(name, unix.O_DIRECTORY|unix.O_RDONLY)
	if err != nil {
		return nil, d.refusal(name, err)
	}
	return &Dir{fd: fd, path: d.join(name)}, nil
}

// refusal explains why name could not be opened as a directory.
func (d *Dir) refusal(name string, err error) error {
	var st unix.Stat_t
	if unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			return fmt.Errorf("%s is a symlink: refusing to write through it (remove it or pull elsewhere)", d.join(name))
		case unix.S_IFDIR:
		default:
			return fmt.Errorf("%s exists and is not a directory: remove it or pull elsewhere", d.join(name))
		}
	}
	return &os.PathError{Op: "open directory", Path: d.join(name), Err: err}
}

// File is a new file being written under a temporary name beside its final name. Commit puts it
// in place; Abort (safe after Commit) removes it.
type File struct {
	*os.File
	dir       *Dir
	tmp, name string
	done      bool
}

// tempName is a fresh hidden name for a file being made.
func tempName(name string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return "." + name + ".lite-" + hex.EncodeToString(b)
}

// Create starts the file name under d with mode perm, narrowed by the umask as cp does (a mode
// a container chose cannot make a host file world-writable against the user's umask). The
// directory is duplicated, so d may be closed before the file is committed.
func (d *Dir) Create(name string, perm os.FileMode) (*File, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	dfd, err := unix.Dup(d.fd)
	if err != nil {
		return nil, err
	}
	dir := &Dir{fd: dfd, path: d.path}
	for range 10 {
		tmp := tempName(name)
		fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			dir.Close()
			return nil, &os.PathError{Op: "create", Path: d.join(tmp), Err: err}
		}
		return &File{File: os.NewFile(uintptr(fd), d.join(tmp)), dir: dir, tmp: tmp, name: name}, nil
	}
	dir.Close()
	return nil, fmt.Errorf("create %s: no free temporary name", d.join(name))
}

// Commit closes the file and renames it over its final name (replacing a file or symlink there,
// refusing a directory).
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("%s: already committed or aborted", f.dir.join(f.name))
	}
	err := f.File.Close()
	if err == nil {
		err = unix.Renameat(f.dir.fd, f.tmp, f.dir.fd, f.name)
		if err != nil {
			err = &os.PathError{Op: "rename into place", Path: f.dir.join(f.name), Err: err}
		}
	}
	if err != nil {
		_ = unix.Unlinkat(f.dir.fd, f.tmp, 0)
	}
	f.done = true
	f.dir.Close()
	return err
}

// Abort drops a file that was not committed; after Commit it does nothing.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	_ = unix.Unlinkat(f.dir.fd, f.tmp, 0)
	f.dir.Close()
}

// WriteFile writes r to name under d (mode perm), replacing what was there atomically.
func (d *Dir) WriteFile(name string, perm os.FileMode, r io.Reader) error {
	f, err := d.Create(name, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := io.Copy(f, r); err != nil {
		return fmt.Errorf("write %s: %w", d.join(name), err)
	}
	return f.Commit()
}

// Symlink makes name under d a symlink to target, replacing a file or symlink there.
func (d *Dir) Symlink(target, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	for range 10 {
		tmp := tempName(name)
		err := unix.Symlinkat(target, d.fd, tmp)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "symlink", Path: d.join(name), Err: err}
		}
		if err := unix.Renameat(d.fd, tmp, d.fd, name); err != nil {
			_ = unix.Unlinkat(d.fd, tmp, 0)
			return &os.PathError{Op: "rename into place", Path: d.join(name), Err: err}
		}
		return nil
	}
	return fmt.Errorf("symlink %s: no free temporary name", d.join(name))
}

// CreatePath starts the file p: its directory is the caller's own path (resolved normally), its
// last component is never followed and is replaced at Commit.
func CreatePath(p string, perm os.FileMode) (*File, error) {
	d, err := OpenDir(filepath.Dir(p))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Create(filepath.Base(p), perm)
}
