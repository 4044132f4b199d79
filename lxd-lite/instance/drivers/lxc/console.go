package lxc

import (
	"context"
	"fmt"
	"os"

	"lite/client/api"
)

// Console returns the host end of the container's /dev/console pty (liblxc's console_getfd
// on tty 0). One client at a time holds it; closing it lets the next one attach.
func (d *Driver) Console(ctx context.Context, name string) (*os.File, error) {
	c, err := d.open(name)
	if err != nil {
		return nil, err
	}
	defer c.Release()
	if !c.Running() {
		return nil, fmt.Errorf("instance %q is not running: %w", name, api.ErrNotRunning)
	}
	fd, err := c.ConsoleFd(0)
	if err != nil {
		return nil, fmt.Errorf("console of %q is busy or unavailable: %v: %w", name, err, api.ErrConflict)
	}
	return os.NewFile(uintptr(fd), "console"), nil
}
