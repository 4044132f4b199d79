package instance

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"lite/client/api"
	"lite/db"
	"lite/profiles"
)

// Snapshots takes, lists, renames, expires and deletes instances' snapshots; restoring one
// is the lifecycle's (Manager.Restore), as it stops and starts the instance.
type Snapshots struct{ *core }

// SnapshotURL returns a snapshot's API path.
func SnapshotURL(name, snap string) string { return URL(name) + "/snapshots/" + snap }

// nextSnapshotName returns snapN, N one above the highest snapN in use (LXD's default pattern).
func nextSnapshotName(list []db.Snapshot) string {
	next := 0
	for _, s := range list {
		if n, err := strconv.Atoi(strings.TrimPrefix(s.Name, "snap")); err == nil && strings.HasPrefix(s.Name, "snap") && n >= next {
			next = n + 1
		}
	}
	return "snap" + strconv.Itoa(next)
}

// Snapshot takes a snapshot of an instance (running or not) and returns its name.
func (m *Snapshots) Snapshot(ctx context.Context, name string, req api.InstanceSnapshotsPost) (string, error) {
	if req.Stateful {
		return "", fmt.Errorf("stateful snapshots are not supported: %w", api.ErrInvalid)
	}
	if req.Name != "" {
		if err := profiles.ValidateSnapshotName(req.Name); err != nil {
			return "", err
		}
	}
	ctx, unlock := m.locks.lockCancellable(ctx, name)
	defer unlock()
	inst, err := m.db.GetInstance(ctx, name)
	if err != nil {
		return "", err
	}
	list, err := m.db.ListSnapshots(ctx, name)
	if err != nil {
		return "", err
	}
	cfg, _, err := m.expand(ctx, inst)
	if err != nil {
		return "", err
	}
	snap := req.Name
	if snap == "" {
		if snap, err = m.scheduledName(ctx, name, cfg["snapshots.pattern"]); err != nil {
			return "", fmt.Errorf("name the snapshot: %v: %w", err, api.ErrInvalid)
		}
	}
	exists := false
	for _, s := range list {
		exists = exists || s.Name == snap
	}
	if exists && !req.Reuse {
		return "", fmt.Errorf("snapshot %q of instance %q already exists (use --reuse to replace it): %w", snap, name, api.ErrAlreadyExists)
	}
	vol := m.pool.Volume(name, "")
	if err := m.frozen(ctx, name, func() error { return m.pool.CreateSnapshot(ctx, vol, snap) }); err != nil {
		return "", err
	}
	row := db.Snapshot{
		Instance: name, Name: snap, Description: inst.Description, Ephemeral: inst.Ephemeral,
		Config: inst.Config, Devices: inst.Devices, Profiles: inst.Profiles, CreatedAt: time.Now(),
	}
	if req.ExpiresAt != nil {
		row.ExpiresAt = *req.ExpiresAt
	} else if e := cfg["snapshots.expiry"]; e != "" {
		if row.ExpiresAt, err = profiles.ParseExpiry(e, row.CreatedAt); err != nil {
			return "", fmt.Errorf("snapshots.expiry: %v: %w", err, api.ErrInvalid)
		}
	}
	if exists {
		if err := m.db.DeleteSnapshot(ctx, name, snap); err != nil {
			return "", err
		}
	}
	if err := m.db.CreateSnapshot(ctx, row); err != nil {
		if derr := m.pool.DeleteSnapshot(vol, snap); derr != nil {
			m.log.Error("revert: remove snapshot files", "instance", name, "snapshot", snap, "err", derr)
		}
		return "", err
	}
	m.hub.Lifecycle("instance-snapshot-created", SnapshotURL(name, snap), nil)
	return snap, nil
}

// Snapshots returns an instance's snapshots, oldest first.
func (m *Snapshots) Snapshots(ctx context.Context, name string) ([]api.InstanceSnapshot, error) {
	if _, err := m.db.GetInstance(ctx, name); err != nil {
		return nil, err
	}
	list, err := m.db.ListSnapshots(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]api.InstanceSnapshot, 0, len(list))
	for _, s := range list {
		out = append(out, m.renderSnapshot(ctx, s, false))
	}
	return out, nil
}

// GetSnapshot returns one snapshot with its size.
func (m *Snapshots) GetSnapshot(ctx context.Context, name, snap string) (api.InstanceSnapshot, error) {
	s, err := m.db.GetSnapshot(ctx, name, snap)
	if err != nil {
		return api.InstanceSnapshot{}, err
	}
	return m.renderSnapshot(ctx, s, true), nil
}

func (m *core) renderSnapshot(ctx context.Context, s db.Snapshot, size bool) api.InstanceSnapshot {
	return m.renderSnapshotWith(ctx, s, size, nil)
}

// renderSnapshotWith is renderSnapshot with the profiles of one list already read (nil: read
// them here; a snapshot may name a profile the list did not read, or one deleted since).
func (m *core) renderSnapshotWith(ctx context.Context, s db.Snapshot, size bool, shared *listShared) api.InstanceSnapshot {
	out := api.InstanceSnapshot{
		InstanceSnapshotPut: api.InstanceSnapshotPut{ExpiresAt: s.ExpiresAt},
		Name:                s.Name, Architecture: "x86_64", Config: s.Config, Devices: s.Devices,
		Ephemeral: s.Ephemeral, Profiles: s.Profiles, Description: s.Description,
		CreatedAt: s.CreatedAt, LastUsedAt: time.Unix(0, 0).UTC(), Location: "none",
		ExpandedConfig: map[string]string{}, ExpandedDevices: map[string]map[string]string{},
	}
	if out.ExpiresAt.IsZero() {
		out.ExpiresAt = time.Unix(0, 0).UTC()
	}
	inst := db.Instance{Config: s.Config, Devices: s.Devices, Profiles: s.Profiles}
	if profs, err := shared.profilesOf(inst); shared != nil && err == nil {
		out.ExpandedConfig, out.ExpandedDevices = expandWith(inst, profs)
	} else if cfg, devs, err := m.expand(ctx, inst); err == nil {
		out.ExpandedConfig, out.ExpandedDevices = cfg, devs
	}
	if size {
		out.Size = m.pool.SnapshotUsage(m.pool.Volume(s.Instance, ""), s.Name)
	}
	return out
}

// RenameSnapshot renames a snapshot of an instance.
func (m *Snapshots) RenameSnapshot(ctx context.Context, name, snap, newName string) error {
	if err := profiles.ValidateSnapshotName(newName); err != nil {
		return err
	}
	ctx, unlock := m.locks.lock(ctx, name)
	defer unlock()
	if _, err := m.db.GetSnapshot(ctx, name, snap); err != nil {
		return err
	}
	if _, err := m.db.GetSnapshot(ctx, name, newName); err == nil {
		return fmt.Errorf("snapshot %q of instance %q already exists: %w", newName, name, api.ErrAlreadyExists)
	}
	vol := m.pool.Volume(name, "")
	if err := m.pool.RenameSnapshot(vol, snap, newName); err != nil {
		return err
	}
	if err := m.db.RenameSnapshot(ctx, name, snap, newName); err != nil {
		if rerr := m.pool.RenameSnapshot(vol, newName, snap); rerr != nil {
			m.log.Error("revert: rename snapshot files", "instance", name, "snapshot", snap, "err", rerr)
		}
		return err
	}
	m.hub.Lifecycle("instance-snapshot-renamed", SnapshotURL(name, newName), map[string]any{"old_name": snap})
	return nil
}

// UpdateSnapshot changes a snapshot's expiry.
func (m *Snapshots) UpdateSnapshot(ctx context.Context, name, snap string, put api.InstanceSnapshotPut) error {
	ctx, unlock := m.locks.lock(ctx, name)
	defer unlock()
	at := put.ExpiresAt
	if at.Unix() <= 0 {
		at = time.Time{}
	}
	if err := m.db.SetSnapshotExpiry(ctx, name, snap, at); err != nil {
		return err
	}
	m.hub.Lifecycle("instance-snapshot-updated", SnapshotURL(name, snap), nil)
	return nil
}

// DeleteSnapshot removes a snapshot: the row first, then the files, so a crash in between
// leaves only files that Recover sweeps away.
func (m *Snapshots) DeleteSnapshot(ctx context.Context, name, snap string) error {
	ctx, unlock := m.locks.lock(ctx, name)
	defer unlock()
	if err := m.db.DeleteSnapshot(ctx, name, snap); err != nil {
		return err
	}
	if err := m.pool.DeleteSnapshot(m.pool.Volume(name, ""), snap); err != nil {
		return err
	}
	m.hub.Lifecycle("instance-snapshot-deleted", SnapshotURL(name, snap), nil)
	return nil
}

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
		if err := m.Stop(ctx, name, StopOptions{Force: true}); err != nil && !errors.Is(err, api.ErrNotRunning) {
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

// scheduledName renders the pattern with the first free number.
func (m *Snapshots) scheduledName(ctx context.Context, name, pattern string) (string, error) {
	snaps, err := m.db.ListSnapshots(ctx, name)
	if err != nil {
		return "", err
	}
	taken := map[string]bool{}
	for _, s := range snaps {
		taken[s.Name] = true
	}
	if pattern == "" {
		return nextSnapshotName(snaps), nil
	}
	for n := 0; ; n++ {
		cand := profiles.SnapshotName(pattern, n)
		if !taken[cand] {
			return cand, profiles.ValidateSnapshotName(cand)
		}
		if !strings.Contains(pattern, "%d") {
			return "", errSnapshotNameTaken(cand)
		}
	}
}

type errSnapshotNameTaken string

func (e errSnapshotNameTaken) Error() string {
	return "snapshot " + string(e) + " exists and snapshots.pattern has no %d"
}
