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
	fd, err := openBeneath(dfd, rel, unix.O_PATH)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	data, err := readRegular(fd, max)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	return data, nil
}

// reopenRegular opens the file an O_PATH fd pins, with flags, after
// checking that it is a regular file: a fifo or a device must not be
// opened at all.
func reopenRegular(pathfd int, flags int) (*os.File, error) {
	var st unix.Stat_t
	if err := unix.Fstat(pathfd, &st); err != nil {
		return nil, fmt.Errorf("stat: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("not a regular file: %w", ErrInvalid)
	}
	f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", pathfd), flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("reopen: %w", err)
	}
	return f, nil
}

// readRegular reads the regular file an O_PATH fd pins, at most max bytes.
func readRegular(pathfd int, max int64) ([]byte, error) {
	f, err := reopenRegular(pathfd, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("more than %d bytes: %w", max, ErrInvalid)
	}
	return data, nil
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
