package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"lite/client/api"
	"lite/lxd-lite/netutil"
	labfile "lite/profiles/lab"
)

// LinkName names a link in plans: r1:eth1-r2:eth1.
func LinkName(lk labfile.Link) string {
	return lk.Ends[0].Node + ":" + lk.Ends[0].Iface + "-" + lk.Ends[1].Node + ":" + lk.Ends[1].Iface
}

// pidOf returns the init pid of a running node, or 0.
func (s *Service) pidOf(ctx context.Context, name string) int {
	full, err := s.Instances.Get(ctx, name)
	if err != nil || full.State == nil || full.StatusCode != api.Running {
		return 0
	}
	return int(full.State.Pid)
}

// linkState reports whether both ends of a link are in place. An interface of the link's
// name that is not a veth is refused (ErrAlreadyExists): the link would take over the node's own.
func (s *Service) linkState(ctx context.Context, lk labfile.Link) (bool, error) {
	have := 0
	for _, e := range lk.Ends {
		pid := s.pidOf(ctx, e.Node)
		if pid == 0 {
			return false, nil
		}
		exists, veth, err := netutil.LinkIn(pid, e.Iface)
		if err != nil {
			return false, err
		}
		if exists && !veth {
			return false, fmt.Errorf("link %s: node %s already has an interface %s that is not this link's: %w", LinkName(lk), e.Node, e.Iface, api.ErrAlreadyExists)
		}
		if exists {
			have++
		}
	}
	return have == 2, nil
}

// planLinks adds each link to the plan: kept when both ends exist, else made.
func (s *Service) planLinks(ctx context.Context, l *labfile.Lab, add func(action, kind, name, detail string)) error {
	away, err := s.awayLinks(ctx, l)
	if err != nil {
		return err
	}
	for _, lk := range l.Links {
		if m := away[LinkName(lk)]; m != "" {
			// Its namespaces are on another member: that one checks it when it makes its
			// share of the up, and re-makes it whenever one of its nodes starts.
			add("keep", "link", LinkName(lk), "on member "+m)
			continue
		}
		ok, err := s.linkState(ctx, lk)
		if err != nil {
			return err
		}
		if ok {
			add("keep", "link", LinkName(lk), "")
		} else {
			add("create", "link", LinkName(lk), strings.TrimSpace(lk.Ends[0].IPv4+" "+lk.Ends[1].IPv4))
		}
	}
	return nil
}

// awayLinks maps each link whose nodes both live on another cluster member to that member.
func (s *Service) awayLinks(ctx context.Context, l *labfile.Lab) (map[string]string, error) {
	out := map[string]string{}
	local := s.local()
	if local == "" || len(l.Links) == 0 {
		return out, nil
	}
	nodes, err := s.DB.InstanceNodes(ctx)
	if err != nil {
		return nil, err
	}
	for _, lk := range l.Links {
		a, b := nodes[lk.Ends[0].Node], nodes[lk.Ends[1].Node]
		if a != "" && a == b && a != local {
			out[LinkName(lk)] = a
		}
	}
	return out, nil
}

// ensureLinks makes the links whose two nodes are up, and applies their impairment. A node
// restart destroys its namespace and the link with it; the next up makes it again.
func (s *Service) ensureLinks(ctx context.Context, l *labfile.Lab, failed map[string]bool, progress Progress) error {
	var errs []error
	for _, lk := range l.Links {
		a, b := lk.Ends[0], lk.Ends[1]
		if failed[a.Node] || failed[b.Node] {
			continue
		}
		ok, err := s.linkState(ctx, lk)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			progress(a.Node, "linking "+LinkName(lk))
			if err := s.makeLink(ctx, lk); err != nil {
				errs = append(errs, fmt.Errorf("link %s: %w", LinkName(lk), err))
				continue
			}
			if lk.Impair.IsZero() {
				continue // a new pair has no qdisc to clear
			}
		}
		if err := s.impairLink(ctx, lk, lk.Impair); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Service) makeLink(ctx context.Context, lk labfile.Link) error {
	var ends [2]netutil.PairEnd
	for i, e := range lk.Ends {
		ends[i] = netutil.PairEnd{Pid: s.pidOf(ctx, e.Node), Name: e.Iface}
		if ends[i].Pid == 0 {
			return fmt.Errorf("node %s is not running: %w", e.Node, api.ErrNotRunning)
		}
		if e.IPv4 != "" {
			p, err := netip.ParsePrefix(e.IPv4)
			if err != nil {
				return fmt.Errorf("address %q: %w", e.IPv4, api.ErrInvalid)
			}
			ends[i].Addr = p
		}
	}
	return netutil.MakePair(ends[0], ends[1])
}

// impairLink sets (or, when im is empty, clears) netem on both ends, so both directions
// are impaired. tc runs in the node, on its own interface.
func (s *Service) impairLink(ctx context.Context, lk labfile.Link, im labfile.Impair) error {
	for _, e := range lk.Ends {
		script := fmt.Sprintf("tc qdisc del dev %s root 2>/dev/null; true", e.Iface)
		if !im.IsZero() {
			script = fmt.Sprintf("tc qdisc replace dev %s root netem %s", e.Iface, strings.Join(im.NetemArgs(), " "))
		}
		var log strings.Builder
		if err := s.step(ctx, e.Node, "impair "+e.Iface, script, nil, &log); err != nil {
			if labfile.NetemMissing(log.String()) {
				return fmt.Errorf("link %s: %s: %w", LinkName(lk), labfile.NoNetem, api.ErrUnavailable)
			}
			return fmt.Errorf("link %s: %w", LinkName(lk), err)
		}
	}
	return nil
}
