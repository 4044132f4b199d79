// Package thread runs host work that must touch a container's files from the host: on an OS
// thread of its own, which may first enter the container's mount namespace and root and take
// the container root's filesystem ids. File push/delete (lxd-lite/files) and disk hotplug
// (lxd-lite/device) both go through Run.
package thread

import (
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"lite/lxd-lite/idmap"
)

// Options say what the thread becomes before it runs fn.
type Options struct {
	// Pid, when not 0, is a running container's init: the thread joins its mount namespace
	// and makes its root the thread's root, so absolute paths and symlinks resolve as they
	// do inside.
	Pid int
	// As, when set (not nil nor the zero Map), makes the thread's filesystem ids those of the
	// container's root. A container's overlay mounted in its user namespace refuses ids that
	// namespace does not map (EOVERFLOW for host root), so new entries must be made as the
	// container's root.
	As *idmap.Map
	// RaiseCaps raises again, from the permitted set, the capabilities the kernel drops when
	// As changes the filesystem ids (chown, DAC override, fowner), for callers that must set
	// owners and modes as asked (file push). Without it the thread has no more file access
	// than the container's root.
	RaiseCaps bool
}

// Run runs fn as o asks. With nothing to change it runs fn on the calling goroutine.
// Otherwise fn runs on a locked OS thread that is never unlocked: it exits with its goroutine
// instead of going back to Go's pool with another root, namespace or ids.
func Run(o Options, fn func() error) error {
	asRoot := o.As != nil && !o.As.IsZero()
	if o.Pid == 0 && !asRoot {
		return fn()
	}
	var ns, root *os.File
	if o.Pid != 0 {
		p := "/proc/" + strconv.Itoa(o.Pid)
		var err error
		if ns, err = os.Open(p + "/ns/mnt"); err != nil {
			return fmt.Errorf("mount namespace of the container: %w", err)
		}
		defer ns.Close()
		if root, err = os.Open(p + "/root"); err != nil {
			return fmt.Errorf("root of the container: %w", err)
		}
		defer root.Close()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is discarded when this returns
		if ns != nil {
			if err := enter(ns, root); err != nil {
				errc <- err
				return
			}
		}
		if asRoot {
			// setfsuid reports the previous id, never an error.
			unix.Setfsgid(int(o.As.GID))
			unix.Setfsuid(int(o.As.UID))
			if o.RaiseCaps {
				if err := raiseCaps(); err != nil {
					errc <- err
					return
				}
			}
		}
		errc <- fn()
	}()
	return <-errc
}

// enter makes the calling (locked) thread join the mount namespace ns and chroot into root.
func enter(ns, root *os.File) error {
	// A thread sharing its fs_struct with others cannot change mount namespace.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare fs: %w", err)
	}
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("join the container's mount namespace: %w", err)
	}
	if err := unix.Fchdir(int(root.Fd())); err != nil {
		return err
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot into the container: %w", err)
	}
	return nil
}

// raiseCaps makes the thread's effective capabilities its permitted ones again.
func raiseCaps() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	data[0].Effective, data[1].Effective = data[0].Permitted, data[1].Permitted
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("raise capabilities: %w", err)
	}
	return nil
}
