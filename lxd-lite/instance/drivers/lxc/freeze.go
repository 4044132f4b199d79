package lxc

import (
	"context"
	"fmt"
)

// Freeze stops every process of a running container through the cgroup freezer (liblxc
// waits until the cgroup reports frozen), so its files can be copied consistently.
func (d *Driver) Freeze(ctx context.Context, name string) error {
	c, err := d.open(name)
	if err != nil {
		return err
	}
	defer c.Release()
	if err := c.Freeze(); err != nil {
		return fmt.Errorf("freeze %q: %w", name, err)
	}
	return nil
}

// Unfreeze thaws a frozen container.
func (d *Driver) Unfreeze(ctx context.Context, name string) error {
	c, err := d.open(name)
	if err != nil {
		return err
	}
	defer c.Release()
	if err := c.Unfreeze(); err != nil {
		return fmt.Errorf("thaw %q: %w", name, err)
	}
	return nil
}
