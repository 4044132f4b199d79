package lxc

// #cgo pkg-config: lxc
// #include <stdlib.h>
// #include <lxc/lxccontainer.h>
//
// // lite_console_getfd is liblxc's console_getfd on the console (tty 0). It returns the
// // command socket that holds the console for this client (the monitor frees the console
// // when it closes) and sets *ptx to the client's end. go-lxc's ConsoleFd drops that socket
// // and so leaks it: the console then stays busy until lited exits.
// static int lite_console_getfd(const char *name, const char *lxcpath, int *ptx) {
//	struct lxc_container *c = lxc_container_new(name, lxcpath);
//	if (!c)
//		return -1;
//	int ttynum = 0;
//	int sock = c->console_getfd(c, &ttynum, ptx);
//	lxc_container_put(c);
//	return sock;
// }
import "C"

import (
	"context"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"lite/client/api"
)

// Console returns the host end of the container's /dev/console and a release function that
// frees the console for the next client; call it after closing the file. One client at a
// time holds the console.
func (d *Driver) Console(ctx context.Context, name string) (*os.File, func(), error) {
	c, err := d.open(name)
	if err != nil {
		return nil, nil, err
	}
	running := c.Running()
	c.Release()
	if !running {
		return nil, nil, fmt.Errorf("instance %q is not running: %w", name, api.ErrNotRunning)
	}
	cname, cpath := C.CString(name), C.CString(d.LXCPath)
	defer C.free(unsafe.Pointer(cname))
	defer C.free(unsafe.Pointer(cpath))
	// The monitor frees the console of a client that just detached when it sees its socket
	// close, a moment later: a new attach right after a detach waits for that, briefly.
	deadline := time.Now().Add(3 * time.Second)
	for {
		var ptx C.int
		sock := int(C.lite_console_getfd(cname, cpath, &ptx))
		if sock >= 0 {
			// Non-blocking, so os.File uses the poller: Close then ends a Read blocked on an
			// idle console and really closes the fd.
			if err := unix.SetNonblock(int(ptx), true); err != nil {
				unix.Close(int(ptx))
				unix.Close(sock)
				return nil, nil, fmt.Errorf("console of %q: %w", name, err)
			}
			return os.NewFile(uintptr(ptx), "console"), func() { unix.Close(sock) }, nil
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("console of %q is busy (another client is attached) or unavailable: %w", name, api.ErrConflict)
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
