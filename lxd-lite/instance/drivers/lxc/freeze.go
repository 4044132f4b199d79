package lxc

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"time"

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
	if err := d.thaw(c, name); err != nil {
		return fmt.Errorf("thaw %q: %w", name, err)
	}
	return nil
}

// thaw thaws a frozen container, or one whose freeze never finished (FREEZING: the lited
// that froze it died in the middle, and the monitor still holds the state lited told it).
// liblxc only unfreezes a FROZEN container and only freezes one that is not, so a FREEZING
// one is frozen to the end first (lxc-freeze, bounded in time), then thawed; then thaw
// waits for the container to leave both states.
func (d *Driver) thaw(c *golxc.Container, name string) error {
	if c.State() == golxc.FREEZING {
		ctx, cancel := context.WithTimeout(context.Background(), thawWait)
		out, err := exec.CommandContext(ctx, "lxc-freeze", "-P", d.LXCPath, "-n", name).CombinedOutput()
		cancel()
		if err != nil {
			return fmt.Errorf("finish the interrupted freeze before the thaw: %v: %s", err, bytes.TrimSpace(out))
		}
	}
	if c.State() == golxc.FROZEN {
		if err := c.Unfreeze(); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(thawWait)
	for st := c.State(); st == golxc.FREEZING || st == golxc.FROZEN; st = c.State() {
		if time.Now().After(deadline) {
			return fmt.Errorf("still %s %s after the thaw", st, thawWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// thawWait bounds how long a thaw waits for the freezer to let the container run.
const thawWait = 5 * time.Second
