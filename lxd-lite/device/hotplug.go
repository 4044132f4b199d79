package device

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"lite/lxd-lite/idmap"
	"lite/lxd-lite/thread"

	"golang.org/x/sys/unix"
)

// hotMountReq is one bind mount to add to a running container.
type hotMountReq struct {
	Pid      int    // the container's init
	Source   string // host path
	Target   string // path inside
	ReadOnly bool
	Shift    bool       // idmapped through the container's user namespace
	IDMap    *idmap.Map // the container's (nil: privileged): mount points are made as its root
}

// hotMount bind-mounts a host path into a running container. The tree is cloned on the host
// (open_tree), made read-only or idmapped through the container's user namespace there
// (mount_setattr), then attached inside the container's mount namespace (move_mount), from a
// thread of its own that joins that namespace.
func hotMount(r hotMountReq) error {
	pid, src, target := r.Pid, r.Source, r.Target
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("clone %s: %w", src, err)
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{}
	if r.ReadOnly {
		attr.Attr_set |= unix.MOUNT_ATTR_RDONLY
	}
	if r.Shift {
		userns, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/user")
		if err != nil {
			return fmt.Errorf("user namespace of the container: %w", err)
		}
		defer userns.Close()
		attr.Attr_set |= unix.MOUNT_ATTR_IDMAP
		attr.Userns_fd = uint64(userns.Fd())
	}
	if attr.Attr_set != 0 {
		if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			return fmt.Errorf("set mount attributes of %s: %w", src, err)
		}
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	return thread.Run(thread.Options{Pid: pid, As: r.IDMap}, func() error {
		if err := makeTarget(target, st.Mode()); err != nil {
			return err
		}
		if err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return fmt.Errorf("attach at %s: %w", target, err)
		}
		return nil
	})
}

// hotUnmount detaches the mount at target inside the running container whose init is pid.
// A target that is not mounted is no error.
func hotUnmount(pid int, target string) error {
	return thread.Run(thread.Options{Pid: pid}, func() error {
		err := unix.Unmount(target, unix.MNT_DETACH)
		if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("detach %s: %w", target, err)
		}
		return nil
	})
}

// makeTarget creates the mount point (a directory, or an empty file for a file source) and
// its missing parents. hotMount runs it as the container's root (thread.Options.As): the
// container's filesystem refuses ids its user namespace does not map (EOVERFLOW).
func makeTarget(target string, srcMode os.FileMode) error {
	if !filepath.IsAbs(target) || strings.Contains(target, "/../") {
		return fmt.Errorf("bad target %q", target)
	}
	if _, err := os.Lstat(target); err == nil {
		return nil
	}
	parent := filepath.Dir(target)
	var made []string
	for p := parent; p != "/"; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil {
			break
		}
		made = append([]string{p}, made...)
	}
	for _, p := range made {
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	if srcMode.IsDir() {
		if err := os.Mkdir(target, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	} else {
		f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|unix.O_NOFOLLOW, 0o644)
		if err != nil {
			return err
		}
		f.Close()
	}
	return nil
}
