package cluster

import (
	"context"
	"strings"
	"time"

	"lite/client/api"
)

// offlineAfter is how old a member's last heartbeat may be before it counts as offline.
const offlineAfter = 15 * time.Second

// members reads the nodes table and turns heartbeats into statuses.
func (s *Service) members(ctx context.Context) ([]api.ClusterMember, error) {
	nodes, err := s.db.GetNodes(ctx)
	if err != nil {
		return nil, err
	}
	roles := s.dbRoles(ctx)
	out := make([]api.ClusterMember, 0, len(nodes))
	now := s.now()
	for _, n := range nodes {
		m := api.ClusterMember{
			ClusterMemberPut: api.ClusterMemberPut{Config: map[string]string{}, Description: n.Description,
				Roles: []string{}, FailureDomain: "default", Groups: []string{"default"}},
			ServerName: n.Name, URL: "https://" + n.Address, Architecture: n.Architecture,
			Status: api.ClusterMemberOnline, Message: "Fully operational",
		}
		if r, ok := roles[n.DBAddress]; ok {
			m.Roles = []string{r}
			m.Database = r == "database"
		}
		if age := now.Sub(n.Heartbeat); age > offlineAfter {
			m.Status = api.ClusterMemberOffline
			m.Message = "No heartbeat for " + age.Round(time.Second).String()
		}
		out = append(out, m)
	}
	return out, nil
}

// dbRoles returns the dqlite role of each database address (none when the leader cannot be
// asked: members are still listed, without roles).
func (s *Service) dbRoles(ctx context.Context) map[string]string {
	s.mu.RLock()
	n := s.node
	s.mu.RUnlock()
	if n == nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	roles, err := n.roles(rctx)
	if err != nil {
		s.log.Debug("read database roles", "err", err)
		return nil
	}
	return roles
}

// ByLoad orders members for placement: fewest instances first, then local, then by name, so
// placement is deterministic.
func ByLoad(count map[string]int, local string) func(a, b string) int {
	return func(a, b string) int {
		if d := count[a] - count[b]; d != 0 {
			return d
		}
		switch local {
		case a:
			return -1
		case b:
			return 1
		}
		return strings.Compare(a, b)
	}
}
