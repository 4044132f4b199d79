package instance

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"lite/client/api"
	"lite/db"
)

// Restore brings an instance back to a snapshot: its writable layer, config, devices and
// profiles. A running instance is stopped (killed: its state is being thrown away), restored
// and started again.
func (m *Manager) Restore(ctx context.Context, name, snap string) error {
	s, err := m.db.GetSnapshot(ctx, name, snap)
	if err != nil {
		return err
	}
	if _, err := m.db.GetProfiles(ctx, s.Profiles); err != nil {
		return fmt.Errorf("restore %q: a profile of the snapshot is gone: %w", snap, err)
	}
	st, err := m.rt.State(ctx, name)
	if err != nil {
		return err
	}
	wasRunning := st.Running
	if wasRunning {
		if err := m.Stop(ctx, name, StopOptions{Force: true}); err != nil && !errors.Is(err, api.ErrInvalid) {
			return err
		}
	}
	if err := m.restoreStopped(ctx, name, s); err != nil {
		return err
	}
	m.hub.Lifecycle("instance-restored", URL(name), map[string]any{"snapshot": snap})
	if wasRunning {
		return m.Start(ctx, name)
	}
	return nil
}

func (m *Manager) restoreStopped(ctx context.Context, name string, s db.Snapshot) error {
	ctx, unlock := m.locks.lockCancellable(ctx, name)
	defer unlock()
	inst, err := m.db.GetInstance(ctx, name)
	if err != nil {
		return err
	}
	if st, err := m.rt.State(ctx, name); err != nil {
		return err
	} else if st.Running {
		return fmt.Errorf("instance %q was started during the restore: %w", name, api.ErrConflict)
	}
	if err := m.pool.RestoreSnapshot(ctx, m.pool.Volume(name, ""), s.Name); err != nil {
		return err
	}
	next := inst
	next.Config = map[string]string{}
	for k, v := range s.Config {
		if !strings.HasPrefix(k, "volatile.") {
			next.Config[k] = v
		}
	}
	// Volatile keys describe the instance as it is now (its MAC, uuid, power state).
	for k, v := range inst.Config {
		if strings.HasPrefix(k, "volatile.") {
			next.Config[k] = v
		}
	}
	next.Devices, next.Profiles, next.Description, next.Ephemeral = s.Devices, s.Profiles, s.Description, s.Ephemeral
	return m.db.UpdateInstance(ctx, next)
}
