package images

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// resolveBeneath makes openat2 stay below its directory fd and refuse every
// symlink and mount crossing: used where nothing legitimate needs either
// (unpacking, reading an image's own files).
const resolveBeneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// openBeneath opens rel (a relative path; "" or "." is dir itself) below
// the directory fd dirfd, never following a symlink or leaving it.
func openBeneath(dirfd int, rel string, flags int) (int, error) {
	if rel == "" {
		rel = "."
	}
	for {
		fd, err := unix.Openat2(dirfd, rel, &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: resolveBeneath})
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "openat2", Path: rel, Err: err}
		}
		return fd, nil
	}
}

// mkdirBeneath opens directory rel below dirfd, creating it and its missing
// parents (mode 0755, owned by uid:gid) on the way. A symlink anywhere on
// the path is an error, never followed.
func mkdirBeneath(dirfd int, rel string, uid, gid uint32) (int, error) {
	fd, err := openBeneath(dirfd, rel, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	cur, err := unix.Dup(dirfd)
	if err != nil {
		return -1, fmt.Errorf("dup: %w", err)
	}
	for _, c := range strings.Split(rel, "/") {
		if c == "" || c == "." {
			continue
		}
		err := unix.Mkdirat(cur, c, 0o755)
		if err == nil {
			err = unix.Fchownat(cur, c, int(uid), int(gid), unix.AT_SYMLINK_NOFOLLOW)
		} else if errors.Is(err, unix.EEXIST) {
			err = nil
		}
		if err != nil {
			unix.Close(cur)
			return -1, &os.PathError{Op: "mkdir", Path: rel, Err: err}
		}
		next, err := openBeneath(cur, c, unix.O_PATH|unix.O_DIRECTORY)
		unix.Close(cur)
		if err != nil {
			return -1, err
		}
		cur = next
	}
	return cur, nil
}

// readFileBeneath reads the regular file rel below dir, at most max bytes,
// refusing symlinks: an image's own files (metadata.yaml, templates) must
// not be able to point the daemon at host files.
func readFileBeneath(dir, rel string, max int64) ([]byte, error) {
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(dfd)
	fd, err := openBeneath(dfd, rel, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file: %w", rel, ErrInvalid)
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes, more than %d: %w", rel, st.Size(), max, ErrInvalid)
	}
	return io.ReadAll(io.LimitReader(f, max))
}

// splitPath splits a clean relative path into its parent and final name.
func splitPath(rel string) (parent, name string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

// procPath names the entry name in the directory open as dirfd through
// /proc, for the syscalls that have no *at form (l*xattr, chmod of a fifo).
// The directory was resolved safely and name is one component, so the
// kernel resolves nothing attacker-controlled.
func procPath(dirfd int, name string) string {
	return fmt.Sprintf("/proc/self/fd/%d/%s", dirfd, name)
}
