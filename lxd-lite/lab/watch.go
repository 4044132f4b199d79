package lab

import (
	"context"
	"strings"

	"lite/client/api"
	"lite/lxd-lite/events"
	"lite/lxd-lite/instance"
)

// Watch re-makes a lab's links when one of its nodes starts: a restart destroys the node's
// network namespace, and the node's ends of its links with it. It takes a subscription made
// before lited starts any instance (autostart), and runs until ctx ends.
func (s *Service) Watch(ctx context.Context, sub *events.Subscription) {
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-sub.C:
			lc, ok := ev.Metadata.(api.EventLifecycle)
			if !ok || lc.Action != "instance-started" {
				continue
			}
			name, ok := strings.CutPrefix(lc.Source, instance.URL(""))
			if ok {
				go s.nodeStarted(ctx, name)
			}
		}
	}
}

// nodeStarted makes the missing links of a lab node that just started. While an up or a
// restore of its lab runs, that one makes the links instead.
func (s *Service) nodeStarted(ctx context.Context, name string) {
	full, err := s.Instances.Get(ctx, name)
	if err != nil || owned(full.Config) == "" {
		return
	}
	lab := owned(full.Config)
	unlock, err := s.Lock(lab)
	if err != nil {
		return
	}
	defer unlock()
	l, err := s.stored(ctx, lab)
	if err != nil {
		return
	}
	failed := map[string]bool{}
	mine := false
	for _, lk := range l.Links {
		for _, e := range lk.Ends {
			mine = mine || e.Node == name
			failed[e.Node] = s.pidOf(ctx, e.Node) == 0
		}
	}
	if !mine {
		return
	}
	if err := s.ensureLinks(ctx, l, failed, func(string, string) {}); err != nil && s.Log != nil {
		s.Log.Warn("re-make lab links after a node start", "lab", lab, "node", name, "err", err)
	}
}
