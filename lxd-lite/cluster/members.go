package cluster

import (
	"context"
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
	out := make([]api.ClusterMember, 0, len(nodes))
	now := time.Now()
	for _, n := range nodes {
		m := api.ClusterMember{
			ClusterMemberPut: api.ClusterMemberPut{Config: map[string]string{}, Description: n.Description,
				Roles: []string{}, FailureDomain: "default", Groups: []string{"default"}},
			ServerName: n.Name, URL: "https://" + n.Address, Architecture: n.Architecture,
			Status: api.ClusterMemberOnline, Message: "Fully operational",
		}
		if age := now.Sub(n.Heartbeat); age > offlineAfter {
			m.Status = api.ClusterMemberOffline
			m.Message = "No heartbeat for " + age.Round(time.Second).String()
		}
		out = append(out, m)
	}
	return out, nil
}
