package lab

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"lite/client/api"
	"lite/db"
	labfile "lite/profiles/lab"
)

// InstanceLister lists instances with their live state for a lab's status: in a cluster, every
// member's as that member reports it.
type InstanceLister func(ctx context.Context) ([]api.InstanceFull, error)

// Get returns a lab with the live state of its nodes (nil list: this member's view).
func (s *Service) Get(ctx context.Context, name string, list InstanceLister) (api.Lab, error) {
	rec, err := s.DB.GetLab(ctx, name)
	if err != nil {
		return api.Lab{}, err
	}
	if list == nil {
		list = s.Instances.List
	}
	insts, err := list(ctx)
	if err != nil {
		return api.Lab{}, err
	}
	return s.render(ctx, rec, insts)
}

// List returns every lab (nil list: this member's view of the instances).
func (s *Service) List(ctx context.Context, list InstanceLister) ([]api.Lab, error) {
	recs, err := s.DB.ListLabs(ctx)
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = s.Instances.List
	}
	insts, err := list(ctx)
	if err != nil {
		return nil, err
	}
	out := []api.Lab{}
	for _, rec := range recs {
		l, err := s.render(ctx, rec, insts)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func (s *Service) render(ctx context.Context, rec db.Lab, insts []api.InstanceFull) (api.Lab, error) {
	out := api.Lab{Name: rec.Name, Status: "ready", Nodes: []api.LabNode{}, Networks: []string{}, CreatedAt: rec.CreatedAt}
	file, err := labfile.Parse(rec.Filename, []byte(rec.Source), "")
	if err != nil {
		return out, fmt.Errorf("lab %s: stored definition: %w", rec.Name, err)
	}
	for _, n := range file.Networks {
		out.Networks = append(out.Networks, NetworkName(rec.Name, n.Name))
	}
	state, err := s.DB.LabNodes(ctx, rec.Name)
	if err != nil {
		return out, err
	}
	byName := map[string]api.InstanceFull{}
	for _, i := range insts {
		if owned(i.Config) == rec.Name {
			byName[i.Name] = i
		}
	}
	for _, n := range file.Nodes {
		node := api.LabNode{Name: n.Name, Status: "Missing", Groups: n.Groups, Addresses: map[string]string{},
			Provisioned: state[n.Name].Provisioned}
		if node.Groups == nil {
			node.Groups = []string{}
		}
		if !node.Provisioned && state[n.Name].Log != "" {
			node.Error = lastLines(state[n.Name].Log, 10)
		}
		if i, ok := byName[n.Name]; ok {
			node.Status = i.Status
			if i.Location != "none" {
				node.Location = i.Location
			}
			if i.State != nil {
				node.CPUUsageNs, node.MemoryUsage = i.State.CPU.Usage, i.State.Memory.Usage
				for iface, st := range i.State.Network {
					for _, a := range st.Addresses {
						if a.Family == "inet" && iface != "lo" {
							node.Addresses[iface] = a.Address
						}
					}
				}
			}
		}
		if node.Status != "Running" || !node.Provisioned {
			out.Status = "incomplete"
		}
		out.Nodes = append(out.Nodes, node)
	}
	sort.Strings(out.Networks)
	return out, nil
}

// Down removes every instance and network that carries the lab's label, then the lab's
// record. It touches nothing else, and it works on a lab that an up left half done. In a
// cluster it removes the nodes that live on this member; with share (a coordinator's request)
// that is all it does, else it then removes the networks and the record, once no node of the
// lab is left on another member (the coordinator has had those removed first).
func (s *Service) Down(ctx context.Context, name string, share bool, progress Progress) error {
	_, recErr := s.DB.GetLab(ctx, name)
	if recErr != nil && !errors.Is(recErr, api.ErrNotFound) {
		return recErr
	}
	insts, err := s.DB.ListInstances(ctx)
	if err != nil {
		return err
	}
	here, err := s.here(ctx)
	if err != nil {
		return err
	}
	found := recErr == nil
	var elsewhere []string
	var mine []labfile.Node
	for _, i := range insts {
		if owned(i.Config) != name {
			continue
		}
		found = true
		if !here(i.Name) {
			elsewhere = append(elsewhere, i.Name+" (on "+i.Node+")")
			continue
		}
		mine = append(mine, labfile.Node{Name: i.Name})
	}
	// Bounded and parallel as a restore: a node's stop and delete wait mostly on its
	// processes' exit and the disk, so several overlap.
	var mu sync.Mutex
	var errs []error
	s.eachNode(ctx, mine, s.restoreParallel(), func(n labfile.Node) {
		progress(n.Name, "deleting")
		if err := s.removeNode(ctx, name, n.Name); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			return
		}
		progress(n.Name, "deleted")
	})
	if err := errors.Join(errs...); err != nil {
		return err // networks and record stay: the next down finishes
	}
	if share {
		return s.syncHosts(ctx)
	}
	if len(elsewhere) > 0 {
		return fmt.Errorf("lab %s: nodes %s are left on other members: run lite lab down %s again when those members are online: %w",
			name, strings.Join(elsewhere, ", "), name, api.ErrUnavailable)
	}
	nets, err := s.Networks.List(ctx)
	if err != nil {
		return err
	}
	for _, n := range nets {
		if owned(n.Config) != name {
			continue
		}
		found = true
		if err := s.Networks.Delete(ctx, n.Name); err != nil {
			return fmt.Errorf("lab %s: delete network %s: %w", name, n.Name, err)
		}
	}
	if !found {
		return fmt.Errorf("lab %q: %w", name, api.ErrNotFound)
	}
	if recErr == nil {
		if err := s.DB.DeleteLab(ctx, name); err != nil {
			return err
		}
	}
	return s.syncHosts(ctx)
}

// Lab returns a lab's stored record (ErrNotFound when there is none), without its nodes'
// live state: what a request checks before it starts an operation on the lab.
func (s *Service) Lab(ctx context.Context, name string) (db.Lab, error) {
	return s.DB.GetLab(ctx, name)
}
