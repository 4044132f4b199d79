package instance

import (
	"context"
	"time"

	"lite/client/api"
	"lite/db"
	"lite/profiles"
)

// Scheduler runs what lited starts on its own: the snapshots snapshots.schedule asks for,
// the expiry of old ones, and autostart.
type Scheduler struct {
	*core
	snaps *Snapshots
	life  *Manager
}

// RunScheduler takes the snapshots that snapshots.schedule asks for and deletes expired
// snapshots, at the start of every minute, until ctx ends.
func (m *Scheduler) RunScheduler(ctx context.Context) {
	for {
		next := time.Now().Truncate(time.Minute).Add(time.Minute)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		m.ScheduleTick(ctx, next)
	}
}

// ScheduleTick is one step of the scheduler, for the minute of at: expired snapshots go,
// due ones are taken. Failures are logged; one instance never stops the others.
func (m *Scheduler) ScheduleTick(ctx context.Context, at time.Time) {
	list, err := m.localInstances(ctx)
	if err != nil {
		m.log.Error("snapshot scheduler: list instances", "err", err)
		return
	}
	for _, inst := range list {
		m.expireSnapshots(ctx, inst.Name, at)
		cfg, _, err := m.expand(ctx, inst)
		if err != nil || cfg["snapshots.schedule"] == "" {
			continue
		}
		sched, err := profiles.ParseSchedule(cfg["snapshots.schedule"])
		if err != nil || !sched.Due(at) {
			continue
		}
		if st, err := m.rt.State(ctx, inst.Name); err != nil || (!st.Running && !profiles.IsTrue(cfg["snapshots.schedule.stopped"])) {
			continue
		}
		name, err := m.snaps.scheduledName(ctx, inst.Name, cfg["snapshots.pattern"])
		if err != nil {
			m.log.Warn("snapshot scheduler: no free name", "instance", inst.Name, "err", err)
			continue
		}
		if _, err := m.snaps.Snapshot(ctx, inst.Name, api.InstanceSnapshotsPost{Name: name}); err != nil {
			m.log.Warn("scheduled snapshot failed", "instance", inst.Name, "snapshot", name, "err", err)
		}
	}
}

// expireSnapshots deletes the instance's snapshots whose expiry has passed.
func (m *Scheduler) expireSnapshots(ctx context.Context, name string, at time.Time) {
	snaps, err := m.db.ListSnapshots(ctx, name)
	if err != nil {
		return
	}
	for _, s := range snaps {
		if expired(s, at) {
			if err := m.snaps.DeleteSnapshot(ctx, name, s.Name); err != nil {
				m.log.Warn("delete expired snapshot", "instance", name, "snapshot", s.Name, "err", err)
			}
		}
	}
}

func expired(s db.Snapshot, at time.Time) bool {
	return !s.ExpiresAt.IsZero() && s.ExpiresAt.Unix() > 0 && !s.ExpiresAt.After(at)
}
