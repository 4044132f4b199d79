package lab

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"lite/client/api"
	"lite/db"
	labfile "lite/profiles/lab"
)

// Get returns a lab with the live state of its nodes.
func (s *Service) Get(ctx context.Context, name string) (api.Lab, error) {
	rec, err := s.DB.GetLab(ctx, name)
	if err != nil {
		return api.Lab{}, err
	}
	insts, err := s.Instances.List(ctx)
	if err != nil {
		return api.Lab{}, err
	}
	return s.render(ctx, rec, insts)
}

// List returns every lab.
func (s *Service) List(ctx context.Context) ([]api.Lab, error) {
	recs, err := s.DB.ListLabs(ctx)
	if err != nil {
		return nil, err
	}
	insts, err := s.Instances.List(ctx)
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
// record. It touches nothing else, and it works on a lab that an up left half done.
func (s *Service) Down(ctx context.Context, name string, progress Progress) error {
	_, recErr := s.DB.GetLab(ctx, name)
	if recErr != nil && !errors.Is(recErr, api.ErrNotFound) {
		return recErr
	}
	insts, err := s.Instances.List(ctx)
	if err != nil {
		return err
	}
	found := recErr == nil
	for _, i := range insts {
		if owned(i.Config) != name {
			continue
		}
		found = true
		progress(i.Name, "deleting")
		if err := s.removeNode(ctx, name, i.Name); err != nil {
			return err
		}
		progress(i.Name, "deleted")
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
