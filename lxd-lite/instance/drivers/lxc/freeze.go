package lxc

import (
	"context"
	"fmt"

	golxc "github.com/lxc/go-lxc"
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
	if err := thaw(c); err != nil {
		return fmt.Errorf("thaw %q: %w", name, err)
	}
	return nil
}

// thaw thaws a frozen container, or one whose freezer never settled (FREEZING: the lited
// that froze it died while the kernel was freezing it). liblxc's unfreeze refuses the
// latter, so then the freezer is written directly, through the container's monitor.
func thaw(c *golxc.Container) error {
	if c.State() == golxc.FROZEN {
		return c.Unfreeze()
	}
	v1 := c.SetCgroupItem("freezer.state", "THAWED")
	if v1 == nil {
		return nil
	}
	if err := c.SetCgroupItem("cgroup.freeze", "0"); err != nil {
		return fmt.Errorf("write freezer.state (%v) or cgroup.freeze: %w", v1, err)
	}
	return nil
}
