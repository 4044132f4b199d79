package lab

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"lite/client/api"
	"lite/lxd-lite/cluster"
	labfile "lite/profiles/lab"
)

// In a cluster the member that receives a lab request coordinates it: it places the nodes,
// makes the lab's networks (cluster networks: every member gets the bridge), and sends each
// member its share of the work. A member only ever touches the nodes that live on it, as it
// only touches its own instances: links, captures, freezes and execs all need the node's
// namespaces, which are on its member.

// local is this member's name, "" on a single host.
func (s *Service) local() string {
	if s.Member == nil {
		return ""
	}
	return s.Member()
}

// here returns whether an instance lives on this member: every one on a single host; in a
// cluster those whose row places them here (an instance not yet made is nowhere).
func (s *Service) here(ctx context.Context) (func(name string) bool, error) {
	local := s.local()
	if local == "" {
		return func(string) bool { return true }, nil
	}
	nodes, err := s.DB.InstanceNodes(ctx)
	if err != nil {
		return nil, err
	}
	return func(name string) bool {
		node, ok := nodes[name]
		return ok && (node == local || node == "")
	}, nil
}

// mustBeHere refuses to act on a node whose instance lives on another member: only its
// member may stop, delete or re-make it.
func (s *Service) mustBeHere(ctx context.Context, name string) error {
	if s.local() == "" {
		return nil
	}
	node, err := s.DB.InstanceNode(ctx, name)
	if errors.Is(err, api.ErrNotFound) || err == nil && (node == "" || node == s.local()) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("node %s lives on cluster member %s, not on %s: only its member re-makes it: %w", name, node, s.local(), api.ErrConflict)
}

// localNodes keeps the nodes of nodes that live on this member.
func (s *Service) localNodes(ctx context.Context, nodes []labfile.Node) ([]labfile.Node, error) {
	here, err := s.here(ctx)
	if err != nil {
		return nil, err
	}
	var out []labfile.Node
	for _, n := range nodes {
		if here(n.Name) {
			out = append(out, n)
		}
	}
	return out, nil
}

// Holders maps each member other than this one to the lab's instances it holds.
func (s *Service) Holders(ctx context.Context, lab string) (map[string][]string, error) {
	list, err := s.DB.ListInstances(ctx)
	if err != nil {
		return nil, err
	}
	local := s.local()
	out := map[string][]string{}
	for _, inst := range list {
		if owned(inst.Config) == lab && inst.Node != "" && inst.Node != local {
			out[inst.Node] = append(out[inst.Node], inst.Name)
		}
	}
	return out, nil
}

// Place decides the member of every node of l. A node that exists stays on its member.
// Linked nodes share a member: a link is a veth pair, which cannot cross hosts. A target:
// is honoured for the node's whole link group; the other groups go, in file order, to the
// online member with the fewest instances (counting those placed so far), local first on a
// tie, so a lab spreads evenly and the same cluster always places it the same way.
func Place(l *labfile.Lab, existing map[string]string, online []string, load map[string]int, local string) (map[string]string, error) {
	if len(online) == 0 {
		return nil, fmt.Errorf("lab %s: no cluster member is online: %w", l.Name, api.ErrUnavailable)
	}
	group := linkGroups(l)
	count := map[string]int{}
	for m, n := range load {
		count[m] = n
	}
	out := map[string]string{}
	for _, members := range group {
		member, err := groupMember(l, members, existing, online)
		if err != nil {
			return nil, err
		}
		if member == "" {
			member = slices.MinFunc(online, cluster.ByLoad(count, local))
		}
		for _, n := range members {
			out[n] = member
			if _, ok := existing[n]; !ok {
				count[member]++
			}
		}
	}
	return out, nil
}

// groupMember is the member a link group must go to ("": any): where one of its nodes
// already is, else its target.
func groupMember(l *labfile.Lab, nodes []string, existing map[string]string, online []string) (string, error) {
	why := func() string {
		if len(nodes) == 1 {
			return "node " + nodes[0]
		}
		return "linked nodes " + strings.Join(nodes, ", ")
	}
	have, from := "", ""
	for _, n := range nodes {
		m, ok := existing[n]
		if !ok || m == "" {
			continue
		}
		if have != "" && m != have {
			return "", fmt.Errorf("lab %s: %s are on members %s (%s) and %s (%s), and a link cannot cross members: %s: %w",
				l.Name, why(), have, from, m, n, moveHint(n), api.ErrConflict)
		}
		have, from = m, n
	}
	target, tfrom := "", ""
	for _, n := range nodes {
		t := l.Node(n).Target
		if t == "" {
			continue
		}
		if target != "" && t != target {
			return "", fmt.Errorf("lab %s: %s are linked, so they share a member, but %s has target %s and %s has target %s: give them the same target: %w",
				l.Name, why(), tfrom, target, n, t, api.ErrInvalid)
		}
		target, tfrom = t, n
	}
	switch {
	case have != "" && target != "" && have != target:
		return "", fmt.Errorf("lab %s: node %s has target %s but %s already lives on member %s: %s: %w",
			l.Name, tfrom, target, from, have, moveHint(from), api.ErrConflict)
	case have != "":
		return have, nil
	case target != "" && !slices.Contains(online, target):
		return "", fmt.Errorf("lab %s: node %s has target %s, which is not an online member of the cluster (see lite cluster list): %w",
			l.Name, tfrom, target, api.ErrInvalid)
	}
	return target, nil
}

// moveHint says how to move a node to another member: lite does not move instances between
// members, so the node is taken out of the lab and made again where it now belongs.
func moveHint(node string) string {
	return "a node does not move between members: take " + node + " out of the lab file, run lite lab up --prune, then put it back and run lite lab up"
}

// linkGroups returns the lab's nodes grouped by the links between them, in file order.
func linkGroups(l *labfile.Lab) [][]string {
	root := map[string]string{}
	var find func(string) string
	find = func(n string) string {
		if r, ok := root[n]; ok && r != n {
			root[n] = find(r)
			return root[n]
		}
		return n
	}
	for _, lk := range l.Links {
		a, b := find(lk.Ends[0].Node), find(lk.Ends[1].Node)
		if a != b {
			root[b] = a
		}
	}
	index := map[string]int{}
	var out [][]string
	for _, n := range l.Nodes {
		r := find(n.Name)
		i, ok := index[r]
		if !ok {
			i = len(out)
			index[r] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], n.Name)
	}
	return out
}

// Waves orders nodes for an up across members: a wave holds the nodes whose dependencies
// (among nodes) are all in earlier waves, so each wave's nodes are made in parallel on their
// members without a member waiting on another's node.
func Waves(l *labfile.Lab, nodes []labfile.Node) [][]string {
	in := map[string]bool{}
	for _, n := range nodes {
		in[n.Name] = true
	}
	level := map[string]int{}
	var depth func(name string) int
	depth = func(name string) int {
		if d, ok := level[name]; ok {
			return d
		}
		d := 0
		for _, dep := range l.Node(name).DependsOn {
			if in[dep] {
				d = max(d, depth(dep)+1)
			}
		}
		level[name] = d
		return d
	}
	var out [][]string
	for _, n := range nodes {
		d := depth(n.Name)
		for len(out) <= d {
			out = append(out, nil)
		}
		out[d] = append(out[d], n.Name)
	}
	return out
}

// shareNodes returns the nodes of a member's share, in file order.
func shareNodes(l *labfile.Lab, names []string) ([]labfile.Node, error) {
	var out []labfile.Node
	for _, name := range names {
		if l.Node(name) == nil {
			return nil, fmt.Errorf("lab %s has no node %q: %w", l.Name, name, api.ErrInvalid)
		}
	}
	for _, n := range l.Nodes {
		if slices.Contains(names, n.Name) {
			out = append(out, n)
		}
	}
	return out, nil
}

// resyncer is a network manager that can bring this member's bridges in line with the
// cluster's network rows now (the coordinator made the lab's networks a moment ago).
type resyncer interface {
	Resync(ctx context.Context) error
}

// syncNetworks makes sure this member has the bridges of networks another member made.
func (s *Service) syncNetworks(ctx context.Context) error {
	if r, ok := s.Networks.(resyncer); ok && s.local() != "" {
		return r.Resync(ctx)
	}
	return nil
}
