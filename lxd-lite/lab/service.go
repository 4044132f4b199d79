// Package lab is lited's lab service: it turns a validated lab file into networks and
// provisioned instances through the network manager and the instance lifecycle (never around
// them), records provisioning state in the database, and tears a lab down by its label.
package lab

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/imagesvc"
	"lite/lxd-lite/instance"
	labfile "lite/profiles/lab"
)

// LabKey is the config key that marks every object a lab made.
const LabKey = labfile.LabKey

// Networks is what the lab service needs of the network manager.
type Networks interface {
	Create(ctx context.Context, req api.NetworksPost) error
	Delete(ctx context.Context, name string) error
	List(ctx context.Context) ([]api.Network, error)
}

// Instances is what the lab service needs of the instance lifecycle.
type Instances interface {
	Create(ctx context.Context, req api.InstancesPost, progress func(key, msg string)) (string, error)
	Start(ctx context.Context, name string) error
	Stop(ctx context.Context, name string, opts instance.StopOptions) error
	Delete(ctx context.Context, name string) error
	Get(ctx context.Context, name string) (api.InstanceFull, error)
	List(ctx context.Context) ([]api.InstanceFull, error)
	ExecEnv(ctx context.Context, name string, req map[string]string, uid uint32) ([]string, string, error)
	Restore(ctx context.Context, name, snap string) error
}

// Service applies, reports and removes labs.
type Service struct {
	DB        *db.DB
	Instances Instances
	Networks  Networks
	Runtime   instance.Runtime
	Snap      Snapshotter
	// Images builds the derived images of nodes with packages: (nil: packages: is refused).
	Images ImageBuilder
	// Hosts, when set, gets the nodes' names (nil: the host does not resolve them).
	Hosts *HostsFile
	Log   *slog.Logger
	// Parallel bounds how many nodes are provisioned at once (default 4).
	Parallel int
	// RestoreParallel bounds how many nodes a restore or reset handles at once (default: twice
	// the CPUs, at least 4).
	RestoreParallel int
	// ReadyTimeout bounds the wait for one node's readiness (default 3 minutes).
	ReadyTimeout time.Duration
	// Member is this cluster member's name ("" or nil: a single host).
	Member func() string

	busy map[string]bool
}

// ImageBuilder builds an image from a recipe with extra packages, reusing a cached build of
// the same recipe and packages.
type ImageBuilder interface {
	Build(ctx context.Context, o imagesvc.BuildOptions, progress func(string)) (db.Image, error)
}

// Progress reports one node's step (key: the node name).
type Progress func(node, msg string)

// NetworkName is the lite network a lab network becomes: the lab's name, a dash and its own.
func NetworkName(lab, net string) string { return lab + "-" + net }

// Parse validates a request's lab file and that every file it names was sent.
func Parse(req api.LabsPost) (*labfile.Lab, error) {
	name := req.Filename
	if name == "" {
		name = "lab.yaml"
	}
	l, err := labfile.Parse(name, []byte(req.Source), "")
	if err != nil {
		return nil, err
	}
	for _, n := range l.Nodes {
		for _, f := range n.Files {
			if _, ok := req.Files[f.Source]; !ok {
				return nil, fmt.Errorf("node %s: file %s was not sent with the lab: %w", n.Name, f.Source, api.ErrInvalid)
			}
		}
		for _, k := range n.SSHKeys {
			if _, ok := req.Files[k]; !ok {
				return nil, fmt.Errorf("node %s: ssh key file %s was not sent with the lab: %w", n.Name, k, api.ErrInvalid)
			}
		}
	}
	for _, net := range l.Networks {
		if n := NetworkName(l.Name, net.Name); len(n) > 15 {
			return nil, fmt.Errorf("network %s of lab %s becomes bridge %s, longer than 15 characters: shorten the lab or network name: %w", net.Name, l.Name, n, api.ErrInvalid)
		}
	}
	return l, nil
}

// logger returns the service's logger, or one that drops everything.
func (s *Service) logger() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// owned returns the lab a config marks, or "".
func owned(cfg map[string]string) string { return cfg[LabKey] }

// Plan compares the lab file with what exists and returns the changes an up makes. It fails
// with ErrAlreadyExists when the lab would take over an object that is not its own (ErrConflict
// when one of its subnets overlaps another network's).
func (s *Service) Plan(ctx context.Context, l *labfile.Lab, req api.LabsPost) (api.LabPlan, error) {
	plan := api.LabPlan{Name: l.Name, Changes: []api.LabChange{}}
	add := func(action, kind, name, detail string) {
		plan.Changes = append(plan.Changes, api.LabChange{Action: action, Kind: kind, Name: name, Detail: detail})
	}
	if err := s.planNetworks(ctx, l, add); err != nil {
		return plan, err
	}
	insts, err := s.Instances.List(ctx)
	if err != nil {
		return plan, err
	}
	byName := map[string]api.InstanceFull{}
	for _, i := range insts {
		byName[i.Name] = i
	}
	state, err := s.DB.LabNodes(ctx, l.Name)
	if err != nil {
		return plan, err
	}
	prev := s.previous(ctx, l.Name)
	for _, n := range l.Nodes {
		i, exists := byName[n.Name]
		switch {
		case !exists:
			add("create", "node", n.Name, nodeDetail(n))
		case owned(i.Config) != l.Name:
			return plan, fmt.Errorf("node %s: instance %s already exists and is not part of lab %s: rename one of them: %w", n.Name, n.Name, l.Name, api.ErrAlreadyExists)
		case !state[n.Name].Provisioned:
			add("create", "node", n.Name, "re-made: its provisioning did not finish")
		default:
			var pn *labfile.Node
			if prev != nil {
				pn = prev.Node(n.Name)
			}
			planNode(add, diffNode(l, i, pn, n), n, slices.Contains(req.Recreate, n.Name))
		}
	}
	for _, i := range insts {
		if owned(i.Config) == l.Name && l.Node(i.Name) == nil {
			if req.Prune {
				add("delete", "node", i.Name, "not in the lab file")
			} else {
				add("keep", "node", i.Name, "not in the lab file (up --prune deletes it)")
			}
		}
	}
	if err := s.planLinks(ctx, l, add); err != nil {
		return plan, err
	}
	for _, name := range req.Recreate {
		if l.Node(name) == nil {
			return plan, fmt.Errorf("--recreate: lab %s has no node %q: %w", l.Name, name, api.ErrInvalid)
		}
	}
	if pk := packagesOf(l); len(pk) > 0 && s.Images == nil {
		return plan, fmt.Errorf("packages: this lited cannot build images: %w", api.ErrInvalid)
	}
	return plan, nil
}

func packagesOf(l *labfile.Lab) []string {
	set := map[string]bool{}
	for _, n := range l.Nodes {
		for _, p := range n.Packages {
			set[p] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func nodeDetail(n labfile.Node) string {
	parts := []string{n.Image}
	for _, nic := range n.NICs {
		a := "dhcp"
		if nic.IPv4 != "" {
			a = nic.IPv4
		}
		parts = append(parts, nic.Name+"="+nic.Network+":"+a)
	}
	return strings.Join(parts, " ")
}
