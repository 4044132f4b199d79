package lab

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

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
// snapshots show the lab at one point in time. In a cluster it does so for the nodes on this
// member (the coordinator asks every member that holds nodes of the lab).
func (s *Service) SnapshotLab(ctx context.Context, name, snap string) error {
	l, err := s.stored(ctx, name)
	if err != nil {
		return err
	}
	nodes, err := s.localNodes(ctx, l.Nodes)
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
	for _, n := range nodes {
		if fz == nil || s.pidOf(ctx, n.Name) == 0 {
			continue
		}
		if err := fz.Freeze(ctx, n.Name); err != nil {
			return fmt.Errorf("lab %s: freeze %s: %w", name, n.Name, err)
		}
		frozen = append(frozen, n.Name)
	}
	for _, n := range nodes {
		if _, err := s.Snap.Snapshot(ctx, n.Name, api.InstanceSnapshotsPost{Name: snap}); err != nil {
			return fmt.Errorf("lab %s: snapshot %s: %w", name, n.Name, err)
		}
	}
	return nil
}

// RestoreLab restores every node to snap, a bounded number at a time (a node's boot is CPU
// work: more at once only makes each slower), waits until each is ready again and re-makes
// the links (a restore restarts the nodes, and their links go with them). In a cluster it
// restores the nodes on this member.
func (s *Service) RestoreLab(ctx context.Context, name, snap string, progress Progress) error {
	l, err := s.stored(ctx, name)
	if err != nil {
		return err
	}
	nodes, err := s.localNodes(ctx, l.Nodes)
	if err != nil {
		return err
	}
	began := time.Now()
	var mu sync.Mutex
	var errs []error
	failed := map[string]bool{}
	for _, n := range l.Nodes {
		failed[n.Name] = !slices.ContainsFunc(nodes, func(m labfile.Node) bool { return m.Name == n.Name })
	}
	s.eachNode(ctx, nodes, s.restoreParallel(), func(n labfile.Node) {
		progress(n.Name, "restoring "+snap)
		err := s.restoreNode(ctx, l, n, snap)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("node %s: restore %s: %w", n.Name, snap, err))
			failed[n.Name] = true
			progress(n.Name, "failed")
			return
		}
		progress(n.Name, "ready")
	})
	nodesDone := time.Now()
	if err := s.ensureLinks(ctx, l, failed, progress); err != nil {
		errs = append(errs, err)
	}
	linksDone := time.Now()
	if err := s.syncHosts(ctx); err != nil {
		errs = append(errs, err)
	}
	s.logger().Info("lab restored", "lab", name, "snapshot", snap, "nodes", len(nodes),
		"nodes_ready", nodesDone.Sub(began), "links", linksDone.Sub(nodesDone),
		"hosts", time.Since(linksDone), "total", time.Since(began))
	return errors.Join(errs...)
}

// restoreParallel bounds how many nodes a restore handles at once: four times the CPUs, at least 8.
func (s *Service) restoreParallel() int {
	if s.RestoreParallel > 0 {
		return s.RestoreParallel
	}
	return max(8, 4*runtime.NumCPU())
}

// eachNode runs fn for every node, at most limit at a time, and returns when all are done.
func (s *Service) eachNode(ctx context.Context, nodes []labfile.Node, limit int, fn func(labfile.Node)) {
	slots := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for _, n := range nodes {
		slots <- struct{}{} // freed when a running fn returns; an ended ctx makes them quick
		wg.Add(1)
		go func(n labfile.Node) {
			defer wg.Done()
			defer func() { <-slots }()
			fn(n)
		}(n)
	}
	wg.Wait()
}

// restoreNode stops a node, restores it, gives it the file's config and profiles again (the
// snapshot has those of its time), starts it and waits until it is ready, and logs how long
// each step took.
func (s *Service) restoreNode(ctx context.Context, l *labfile.Lab, n labfile.Node, snap string) error {
	t0 := time.Now()
	if s.pidOf(ctx, n.Name) != 0 {
		if err := s.Instances.Stop(ctx, n.Name, instance.StopOptions{Force: true}); err != nil {
			return err
		}
	}
	t1 := time.Now()
	if err := s.Instances.Restore(ctx, n.Name, snap); err != nil {
		return err
	}
	full, err := s.Instances.Get(ctx, n.Name)
	if err != nil {
		return err
	}
	if d := diffNode(l, full, nil, n); len(d.live) > 0 {
		if err := s.updateNode(ctx, nil, n); err != nil {
			return err
		}
	}
	t2 := time.Now()
	if err := s.Instances.Start(ctx, n.Name); err != nil {
		return err
	}
	t3 := time.Now()
	err = s.waitReady(ctx, n)
	s.logger().Debug("lab node restored", "node", n.Name, "stop", t1.Sub(t0), "restore", t2.Sub(t1),
		"start", t3.Sub(t2), "ready", time.Since(t3))
	return err
}
