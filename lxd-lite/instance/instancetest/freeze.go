package instancetest

import (
	"context"
	"fmt"

	"lite/client/api"
)

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
