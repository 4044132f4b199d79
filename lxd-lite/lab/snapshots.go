package lab

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"lite/client/api"
	"lite/lxd-lite/instance"
	labfile "lite/profiles/lab"
)

// Snapshotter is what lab snapshots need of the instance snapshots (restoring one is the
// lifecycle's: Instances.Restore).
type Snapshotter interface {
	Snapshot(ctx context.Context, name string, req api.InstanceSnapshotsPost) (string, error)
}

// stored returns a lab's stored definition.
func (s *Service) stored(ctx context.Context, name string) (*labfile.Lab, error) {
	rec, err := s.DB.GetLab(ctx, name)
	if err != nil {
		return nil, err
	}
	return labfile.Parse(rec.Filename, []byte(rec.Source), "")
}

// SnapshotLab freezes every running node, snapshots each, and thaws them all, so the
// snapshots show the lab at one point in time.
func (s *Service) SnapshotLab(ctx context.Context, name, snap string) error {
	l, err := s.stored(ctx, name)
	if err != nil {
		return err
	}
	fz, _ := s.Runtime.(instance.Freezer)
	var frozen []string
	defer func() {
		for _, n := range frozen {
			if err := fz.Unfreeze(context.Background(), n); err != nil {
				s.Log.Error("thaw after lab snapshot", "lab", name, "node", n, "err", err)
			}
		}
	}()
	for _, n := range l.Nodes {
		if fz == nil || s.pidOf(ctx, n.Name) == 0 {
			continue
		}
		if err := fz.Freeze(ctx, n.Name); err != nil {
			return fmt.Errorf("lab %s: freeze %s: %w", name, n.Name, err)
		}
		frozen = append(frozen, n.Name)
	}
	for _, n := range l.Nodes {
		if _, err := s.Snap.Snapshot(ctx, n.Name, api.InstanceSnapshotsPost{Name: snap}); err != nil {
			return fmt.Errorf("lab %s: snapshot %s: %w", name, n.Name, err)
		}
	}
	return nil
}

// RestoreLab restores every node to snap in parallel, waits until each is ready again and
// re-makes the links (a restore restarts the nodes, and their links go with them).
func (s *Service) RestoreLab(ctx context.Context, name, snap string, progress Progress) error {
	l, err := s.stored(ctx, name)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	failed := map[string]bool{}
	for _, n := range l.Nodes {
		wg.Add(1)
		go func(n labfile.Node) {
			defer wg.Done()
			progress(n.Name, "restoring "+snap)
			err := s.Instances.Restore(ctx, n.Name, snap)
			if err == nil {
				err = s.waitReady(ctx, n)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("node %s: restore %s: %w", n.Name, snap, err))
				failed[n.Name] = true
				progress(n.Name, "failed")
				return
			}
			progress(n.Name, "ready")
		}(n)
	}
	wg.Wait()
	if err := s.ensureLinks(ctx, l, failed, progress); err != nil {
		errs = append(errs, err)
	}
	if err := s.syncHosts(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
