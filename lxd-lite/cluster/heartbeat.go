package cluster

import (
	"context"
	"errors"
	"slices"
	"time"

	"lite/client/api"
)

// heartbeatEvery is how often a member records that it is alive; offlineAfter (about four
// missed beats) turns it Offline.
const heartbeatEvery = 4 * time.Second

// startLoops starts the member's heartbeat; Close stops it.
func (s *Service) startLoops() {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.stop = cancel
	s.mu.Unlock()
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		s.heartbeat(ctx)
	}()
}

// heartbeat writes this member's heartbeat every heartbeatEvery and calls the OnChange
// functions when the members or their statuses change.
func (s *Service) heartbeat(ctx context.Context) {
	var last []string
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		name := s.LocalName()
		bctx, cancel := context.WithTimeout(ctx, heartbeatEvery)
		err := s.db.SetNodeHeartbeat(bctx, name, s.now())
		if errors.Is(err, api.ErrNotFound) {
			s.log.Error("this server was removed from the cluster: it no longer serves the cluster's requests correctly; reset it (stop lited, move $LITE_DIR/cluster away, restore lite.db)", "name", name)
		} else if err != nil && ctx.Err() == nil {
			s.log.Warn("cluster heartbeat", "err", err)
		}
		if list, err := s.members(bctx); err == nil {
			if now := statusKey(list); !slices.Equal(now, last) {
				if last != nil {
					s.notify()
				}
				last = now
			}
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// statusKey is what OnChange watches: each member with its status.
func statusKey(list []api.ClusterMember) []string {
	out := make([]string, 0, len(list))
	for _, m := range list {
		out = append(out, m.ServerName+"="+m.Status+"@"+m.URL)
	}
	return out
}
