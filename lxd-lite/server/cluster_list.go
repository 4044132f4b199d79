package server

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"lite/client/api"
)

// unknownStatus is the status of an instance whose member does not answer: its state is
// unknown. LXD says "Error" (status code 400) there, and `lxc list` shows ERROR; lite says
// the same, so LXD's clients read it as they would from LXD.
var unknownStatus = api.Error.String()

// location is what api.Instance.Location says for an instance served here.
func (s *Server) location() string {
	if l := s.localName(); l != "" {
		return l
	}
	return "none"
}

// listAll returns the instances a list shows: every instance on a single host; in a cluster,
// this member's own, and unless the request was forwarded, every other member's as that
// member reports it (asked in parallel, briefly; a member that does not answer has its
// instances listed from the database with status Error, as LXD lists them).
func (s *Server) listAll(r *http.Request) ([]api.InstanceFull, error) {
	ctx := r.Context()
	local := s.localName()
	if local == "" {
		return s.Instances.List(ctx)
	}
	nodes, err := s.Placement.InstanceNodes(ctx)
	if err != nil {
		return nil, err
	}
	isLocal := func(name string) bool { return nodes[name] == local || nodes[name] == "" }
	out, err := s.Instances.ListWhere(ctx, isLocal)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Location = local
	}
	if r.Header.Get(ForwardedHeader) != "" {
		return out, nil
	}
	others := map[string][]string{}
	for name, node := range nodes {
		if !isLocal(name) {
			others[node] = append(others[node], name)
		}
	}
	remote, err := s.listMembers(ctx, others)
	if err != nil {
		return nil, err
	}
	out = append(out, remote...)
	slices.SortFunc(out, func(a, b api.InstanceFull) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// listMembers asks each member for its own instances at once; names maps a member to the
// instances the database places there.
func (s *Server) listMembers(ctx context.Context, names map[string][]string) ([]api.InstanceFull, error) {
	type result struct {
		member string
		list   []api.InstanceFull
		err    error
	}
	results := make(chan result, len(names))
	var wg sync.WaitGroup
	for member := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.onlineMember(ctx, member)
			var list []api.InstanceFull
			if err == nil {
				list, err = s.memberInstances(ctx, member)
			}
			results <- result{member, list, err}
		}()
	}
	wg.Wait()
	close(results)
	var out []api.InstanceFull
	for res := range results {
		if res.err == nil {
			out = append(out, keepNamed(res.list, names[res.member])...)
			continue
		}
		s.Log.Debug("list: cluster member did not answer", "member", res.member, "err", res.err)
		unknown, err := s.unknownInstances(ctx, res.member, names[res.member])
		if err != nil {
			return nil, err
		}
		out = append(out, unknown...)
	}
	return out, nil
}

// memberInstances is a member's own list of instances, bounded by memberListTimeout.
func (s *Server) memberInstances(ctx context.Context, member string) ([]api.InstanceFull, error) {
	ctx, cancel := context.WithTimeout(ctx, memberListTimeout)
	defer cancel()
	env, err := s.memberDo(ctx, member, "/1.0/instances?recursion=2")
	if err != nil {
		return nil, err
	}
	var list []api.InstanceFull
	if err := json.Unmarshal(env.Metadata, &list); err != nil {
		return nil, fmt.Errorf("cluster member %q: decode its instances: %v: %w", member, err, api.ErrUnavailable)
	}
	return list, nil
}

// keepNamed keeps the instances the database places on that member (a member's reply is not
// trusted to speak for instances that are not its own).
func keepNamed(list []api.InstanceFull, names []string) []api.InstanceFull {
	out := make([]api.InstanceFull, 0, len(names))
	for _, i := range list {
		if slices.Contains(names, i.Name) {
			out = append(out, i)
		}
	}
	return out
}

// unknownInstances renders instances of a member that does not answer from the database:
// their config is known, their state is not.
func (s *Server) unknownInstances(ctx context.Context, member string, names []string) ([]api.InstanceFull, error) {
	list, err := s.Instances.ListWhere(ctx, func(name string) bool { return slices.Contains(names, name) })
	if err != nil {
		return nil, err
	}
	for i := range list {
		list[i].Location = member
		list[i].Status, list[i].StatusCode = unknownStatus, api.Error
		list[i].State = &api.InstanceState{Status: unknownStatus, StatusCode: api.Error,
			Disk: map[string]api.InstanceStateDisk{}, Network: map[string]api.InstanceStateNetwork{}}
	}
	return list, nil
}
