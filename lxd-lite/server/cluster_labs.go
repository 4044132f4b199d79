package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"lite/client/api"
	"lite/lxd-lite/lab"
	labfile "lite/profiles/lab"
)

// A lab in a cluster: the member that gets the request coordinates. It places the nodes,
// makes the networks (cluster networks reach every member), and sends each member its share
// of the work as a forwarded lab request, which that member runs on its own nodes only.

// labCoordinator reports whether this member coordinates the lab request r: it is clustered
// and the request did not come from another member.
func (s *Server) labCoordinator(r *http.Request) bool {
	return s.localName() != "" && r.Header.Get(ForwardedHeader) == ""
}

// upLabCluster places the lab's nodes and runs the up on their members: first each member
// that holds nodes already applies updates and deletions, then the nodes are made wave by
// wave in dependency order, each wave on all members at once. A node whose dependency failed
// is not made.
func (s *Server) upLabCluster(ctx context.Context, l *labfile.Lab, req api.LabsPost, plan api.LabPlan, placement map[string]string, progress lab.Progress) error {
	nodes, err := lab.SelectNodes(l, req.Only)
	if err != nil {
		return err
	}
	if err := s.Labs.Prepare(ctx, l, req, plan); err != nil {
		return err
	}
	holders, err := s.Labs.Holders(ctx, l.Name)
	if err != nil {
		return err
	}
	keepers := append([]string{s.localName()}, slices.Collect(maps.Keys(holders))...)
	if err := onMembers(ctx, keepers, func(ctx context.Context, member string) error {
		return s.labShare(ctx, member, l, req, &api.LabShare{Housekeeping: true}, progress)
	}); err != nil {
		return err
	}
	var errs []error
	failed := map[string]bool{}
	for _, wave := range lab.Waves(l, nodes) {
		byMember := map[string][]string{}
		for _, name := range wave {
			if dep := failedDep(l.Node(name), failed); dep != "" {
				failed[name] = true
				progress(name, "failed")
				errs = append(errs, fmt.Errorf("node %s: not provisioned: it depends on %s, which failed: %w", name, dep, api.ErrConflict))
				continue
			}
			progress(name, "placed on "+placement[name])
			byMember[placement[name]] = append(byMember[placement[name]], name)
		}
		if err := onMembers(ctx, slices.Collect(maps.Keys(byMember)), func(ctx context.Context, member string) error {
			return s.labShare(ctx, member, l, req, &api.LabShare{Nodes: byMember[member]}, progress)
		}); err != nil {
			errs = append(errs, err)
		}
		state, err := s.Labs.DB.LabNodes(ctx, l.Name)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, name := range wave {
			if !state[name].Provisioned {
				failed[name] = true
			}
		}
	}
	return errors.Join(errs...)
}

// failedDep is a dependency of n that failed, or "".
func failedDep(n *labfile.Node, failed map[string]bool) string {
	for _, d := range n.DependsOn {
		if failed[d] {
			return d
		}
	}
	return ""
}

// placeLab places every node of l on a member (lab.Place) from the cluster's members and
// the instances they hold.
func (s *Server) placeLab(ctx context.Context, l *labfile.Lab) (map[string]string, error) {
	members, err := s.Route.Members(ctx)
	if err != nil {
		return nil, fmt.Errorf("lab %s: list cluster members: %w", l.Name, err)
	}
	var online []string
	for _, m := range members {
		if m.Status == api.ClusterMemberOnline {
			online = append(online, m.ServerName)
		}
	}
	nodes, err := s.Placement.InstanceNodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", l.Name, err)
	}
	load := map[string]int{}
	existing := map[string]string{}
	for name, member := range nodes {
		load[member]++
		if l.Node(name) != nil {
			existing[name] = member
		}
	}
	return lab.Place(l, existing, online, load, s.localName())
}

// labShare runs one member's share of an up: here through the lab service, on another
// member as a forwarded request whose operation it follows.
func (s *Server) labShare(ctx context.Context, member string, l *labfile.Lab, req api.LabsPost, share *api.LabShare, progress lab.Progress) error {
	req.Share = share
	if member == s.localName() {
		return s.Labs.Up(ctx, l, req, progress)
	}
	return s.onMember(ctx, member, "POST", "/1.0/labs", req, progress)
}

// onMember sends a lab request to another member (which must be online) and follows the
// operation it starts until it ends.
func (s *Server) onMember(ctx context.Context, member, method, path string, body any, progress lab.Progress) error {
	if err := s.onlineMember(ctx, member); err != nil {
		return err
	}
	env, err := s.memberCall(ctx, member, method, path, body)
	if err != nil {
		return fmt.Errorf("cluster member %s: %w", member, err)
	}
	if env.Operation == "" {
		return nil
	}
	return s.followMemberOp(ctx, member, env.Operation, progress)
}

// onMembers runs fn for each member at once and joins their errors (a remote member's say
// which member they come from).
func onMembers(ctx context.Context, members []string, fn func(ctx context.Context, member string) error) error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, member := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx, member); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// followMemberOp waits for a member's operation to end, passing on its nodes' progress; a
// cancelled ctx cancels it on the member.
func (s *Server) followMemberOp(ctx context.Context, member, opURL string, progress lab.Progress) error {
	id := opURL[strings.LastIndex(opURL, "/")+1:]
	seen := map[string]string{}
	for {
		env, err := s.memberCall(ctx, member, "GET", "/1.0/operations/"+url.PathEscape(id)+"/wait?timeout=1", nil)
		if ctx.Err() != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = s.memberCall(cctx, member, "DELETE", "/1.0/operations/"+url.PathEscape(id), nil)
			cancel()
			return ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("cluster member %s: follow its operation %s: %w", member, id, err)
		}
		var op api.Operation
		if err := json.Unmarshal(env.Metadata, &op); err != nil {
			return fmt.Errorf("cluster member %s: decode operation %s: %v: %w", member, id, err, api.ErrUnavailable)
		}
		keys := slices.Sorted(maps.Keys(op.Metadata))
		for _, k := range keys {
			node, ok := strings.CutPrefix(k, "node.")
			msg, _ := op.Metadata[k].(string)
			if ok && msg != "" && seen[node] != msg {
				seen[node] = msg
				progress(node, msg)
			}
		}
		switch op.StatusCode {
		case api.Success:
			return nil
		case api.Failure, api.Cancelled:
			return fmt.Errorf("on %s: %s", member, op.Err)
		}
	}
}

// labHolders returns the members other than this one that hold nodes of lab; every one must
// be online, as a lab's operation must reach all its nodes.
func (s *Server) labHolders(ctx context.Context, name string) ([]string, error) {
	holders, err := s.Labs.Holders(ctx, name)
	if err != nil {
		return nil, err
	}
	members := slices.Sorted(maps.Keys(holders))
	for _, m := range members {
		if err := s.onlineMember(ctx, m); err != nil {
			sort.Strings(holders[m])
			return nil, fmt.Errorf("lab %s has nodes %s on member %s: %w", name, strings.Join(holders[m], ", "), m, err)
		}
	}
	return members, nil
}

// labOnMembers runs a lab operation on every member that holds nodes of the lab (the
// request forwarded, so each acts on its own nodes) and, when local is not nil, here, all at
// once.
func (s *Server) labOnMembers(ctx context.Context, name, method, path string, body any, local func(context.Context) error, progress lab.Progress) error {
	members, err := s.labHolders(ctx, name)
	if err != nil {
		return err
	}
	if local != nil {
		members = append(members, s.localName())
	}
	return onMembers(ctx, members, func(ctx context.Context, member string) error {
		if member == s.localName() {
			return local(ctx)
		}
		return s.onMember(ctx, member, method, path, body, progress)
	})
}
