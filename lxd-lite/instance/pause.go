package instance

import (
	"context"
	"fmt"

	"lite/client/api"
)

// Pause freezes every process of a running instance (LXD's "freeze" state action): it keeps
// its memory and stays RUNNING to the runtime, FROZEN to clients, until Resume.
func (m *Manager) Pause(ctx context.Context, name string) error {
	return m.setFrozen(ctx, name, true)
}

// Resume thaws a paused instance (LXD's "unfreeze").
func (m *Manager) Resume(ctx context.Context, name string) error {
	return m.setFrozen(ctx, name, false)
}

func (m *Manager) setFrozen(ctx context.Context, name string, freeze bool) error {
	ctx, unlock := m.locks.lock(ctx, name)
	defer unlock()
	if _, err := m.db.GetInstance(ctx, name); err != nil {
		return err
	}
	st, err := m.rt.State(ctx, name)
	if err != nil {
		return err
	}
	switch {
	case !st.Running:
		return fmt.Errorf("instance %q is not running: %w", name, api.ErrNotRunning)
	case freeze && st.Frozen:
		// Ansible's lxd_container freezes whatever the state: reaching it again is no error.
		return nil
	case !freeze && !st.Frozen:
		return fmt.Errorf("instance %q is not frozen: %w", name, api.ErrInvalid)
	}
	fz, ok := m.rt.(Freezer)
	if !ok {
		return fmt.Errorf("this runtime cannot freeze instance %q: %w", name, api.ErrInvalid)
	}
	if freeze {
		if err := fz.Freeze(ctx, name); err != nil {
			return err
		}
		m.hub.Lifecycle("instance-paused", URL(name), nil)
		return nil
	}
	if err := fz.Unfreeze(ctx, name); err != nil {
		return err
	}
	m.hub.Lifecycle("instance-resumed", URL(name), nil)
	return nil
}
