package files

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// asContainerRoot runs fn on an OS thread whose filesystem ids are the container root's.
// A running container's overlay is mounted inside its user namespace, where host root (uid 0)
// has no id: creating a file as host root there fails with EOVERFLOW. With fsuid/fsgid set to
// the container root's host ids new entries are created as the container's root, and the
// capabilities the kernel drops on that change (chown, DAC override, fowner) are raised again
// from the permitted set, so owners and modes can still be set as asked. The thread is never
// unlocked: it exits with the goroutine instead of going back to Go's pool with odd ids.
func (r *Root) asContainerRoot(fn func() error) error {
	if r.im == nil {
		return fn()
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		unix.Setfsgid(int(r.im.GID))
		unix.Setfsuid(int(r.im.UID))
		if err := raiseCaps(); err != nil {
			done <- err
			return
		}
		done <- fn()
	}()
	return <-done
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
