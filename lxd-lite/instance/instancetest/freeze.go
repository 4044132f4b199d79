package instancetest

import (
	"context"
	"fmt"

	"lite/client/api"
	"lite/lxd-lite/instance"
)

// The fake freezes as the lxc driver does; like it, asserted so a missing method fails the
// build. It has no console and leaves no cgroups (no Consoler, no CgroupRemover).
var _ instance.Freezer = (*Runtime)(nil)

// Freeze records a freeze of a running container (the fake keeps no frozen state).
func (r *Runtime) Freeze(ctx context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.running[name]; !ok {
		return fmt.Errorf("fake runtime: %q: %w", name, api.ErrNotRunning)
	}
	r.freezes++
	return nil
}

// Unfreeze thaws a container.
func (r *Runtime) Unfreeze(ctx context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.thaws++
	return nil
}

// Freezes returns how many freezes and thaws were made.
func (r *Runtime) Freezes() (freezes, thaws int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.freezes, r.thaws
}
