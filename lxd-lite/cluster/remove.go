package cluster

import (
	"context"
	"fmt"

	"lite/client/api"
)

// Remove takes member name out of the cluster: out of dqlite and the nodes table. A member
// that still has instances is refused unless force (then their rows go with it: their
// containers, if the member still runs, are no longer the cluster's). The member serving the
// request cannot remove itself: ask another one.
func (s *Service) Remove(ctx context.Context, name string, force bool) error {
	s.op.Lock()
	defer s.op.Unlock()
	if !s.Enabled() {
		return errNotClustered
	}
	n, err := s.db.GetNode(ctx, name)
	if err != nil {
		return err
	}
	if name == s.LocalName() {
		return fmt.Errorf("member %q cannot remove itself: run \"lite cluster remove %s\" on another member: %w", name, name, api.ErrConflict)
	}
	count, err := s.db.CountInstancesOnNode(ctx, name)
	if err != nil {
		return err
	}
	if count > 0 && !force {
		return fmt.Errorf("member %q still has %d instances: delete or move them first, or remove it with --force (their records are then dropped): %w", name, count, api.ErrConflict)
	}
	s.mu.RLock()
	nd := s.node
	s.mu.RUnlock()
	if err := nd.remove(ctx, n.DBAddress); err != nil {
		return err
	}
	if count > 0 {
		if err := s.db.DeleteInstancesOnNode(ctx, name); err != nil {
			return err
		}
	}
	if err := s.db.DeleteNode(ctx, name); err != nil {
		return err
	}
	s.log.Info("removed a cluster member", "name", name, "forced", force, "instances dropped", count)
	s.notify()
	return nil
}
