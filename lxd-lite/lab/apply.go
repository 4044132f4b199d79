package lab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/imagesvc"
	"lite/lxd-lite/instance"
	labfile "lite/profiles/lab"
)

// Up makes the lab true: it records the definition, creates what the plan says, and
// provisions every node (in parallel, after the nodes it depends on). A node that fails does
// not stop the nodes that do not depend on it; Up then returns every node's error.
func (s *Service) Up(ctx context.Context, l *labfile.Lab, req api.LabsPost, progress Progress) error {
	plan, err := s.Plan(ctx, l, req)
	if err != nil {
		return err
	}
	share := req.Share
	here, err := s.here(ctx)
	if err != nil {
		return err
	}
	if share == nil || share.Housekeeping {
		if err := s.applyUpdates(ctx, l, plan, here, progress); err != nil {
			return err
		}
	}
	if share == nil {
		if err := s.Prepare(ctx, l, req, plan); err != nil {
			return err
		}
	} else if err := s.syncNetworks(ctx); err != nil {
		return fmt.Errorf("lab %s: bring this member's bridges in line with the cluster: %w", l.Name, err)
	}
	if share == nil || share.Housekeeping {
		for _, c := range plan.Changes {
			if c.Action == "delete" && c.Kind == "node" && here(c.Name) {
				progress(c.Name, "deleting (not in the lab file)")
				if err := s.removeNode(ctx, l.Name, c.Name); err != nil {
					return err
				}
			}
		}
	}
	var nodes []labfile.Node
	if share == nil {
		nodes, err = SelectNodes(l, req.Only)
	} else {
		nodes, err = shareNodes(l, share.Nodes)
	}
	if err != nil || len(nodes) == 0 {
		return err
	}
	return s.provisionAll(ctx, l, nodes, plan, req, progress)
}

// applyUpdates applies the plan's updates of nodes that live here (a node's instance is only
// ever changed by its member).
func (s *Service) applyUpdates(ctx context.Context, l *labfile.Lab, plan api.LabPlan, here func(string) bool, progress Progress) error {
	prev := s.previous(ctx, l.Name)
	for _, c := range plan.Changes {
		switch {
		case c.Kind != "node" || !here(c.Name):
		case c.Action == "update":
			progress(c.Name, "updating "+c.Detail)
			if err := s.updateNode(ctx, prev, *l.Node(c.Name)); err != nil {
				return err
			}
		case c.Action == "skip":
			progress(c.Name, "not applied: "+c.Detail)
		}
	}
	return nil
}

// Prepare records the lab's definition and makes its missing networks: the part of an up
// done once, before any node (in a cluster, by the member that coordinates). The definition
// is stored first, so a crash part-way leaves a lab that down can find and the next up
// finishes.
func (s *Service) Prepare(ctx context.Context, l *labfile.Lab, req api.LabsPost, plan api.LabPlan) error {
	if err := s.DB.PutLab(ctx, db.Lab{Name: l.Name, Source: req.Source, Filename: req.Filename,
		Files: req.Files, SSHKeys: req.DefaultSSHKeys}); err != nil {
		return err
	}
	return s.ensureNetworks(ctx, l, plan)
}

// SelectNodes returns the nodes an up works on: those --only names, with every node they
// depend on (every node without --only).
func SelectNodes(l *labfile.Lab, only []string) ([]labfile.Node, error) {
	if len(only) == 0 {
		return l.Nodes, nil
	}
	want := map[string]bool{}
	var walk func(name string)
	walk = func(name string) {
		if want[name] {
			return
		}
		want[name] = true
		for _, d := range l.Node(name).DependsOn {
			walk(d)
		}
	}
	for _, name := range only {
		if l.Node(name) == nil {
			return nil, fmt.Errorf("--only: lab %s has no node %q: %w", l.Name, name, api.ErrInvalid)
		}
		walk(name)
	}
	var out []labfile.Node
	for _, n := range l.Nodes {
		if want[n.Name] {
			out = append(out, n)
		}
	}
	return out, nil
}

// provisionAll runs one goroutine per node; each waits for its dependencies and a slot.
func (s *Service) provisionAll(ctx context.Context, l *labfile.Lab, nodes []labfile.Node, plan api.LabPlan, req api.LabsPost, progress Progress) error {
	parallel := s.Parallel
	if parallel <= 0 {
		parallel = 4
	}
	slots := make(chan struct{}, parallel)
	done := map[string]chan struct{}{}
	errs := map[string]error{}
	for _, n := range nodes {
		done[n.Name] = make(chan struct{})
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func(n labfile.Node) {
			defer wg.Done()
			defer close(done[n.Name])
			err := s.afterDeps(ctx, n, done, errs, &mu)
			if err == nil {
				slots <- struct{}{}
				err = s.provision(ctx, l, n, plan, req, progress)
				<-slots
			}
			if err != nil {
				progress(n.Name, "failed")
			} else {
				progress(n.Name, "ready")
			}
			mu.Lock()
			errs[n.Name] = err
			mu.Unlock()
		}(n)
	}
	wg.Wait()
	var all []error
	failed := map[string]bool{}
	here, err := s.here(ctx)
	if err != nil {
		return err
	}
	for _, n := range l.Nodes {
		if _, ok := done[n.Name]; !ok {
			// Not part of this up: linked only if it runs here.
			failed[n.Name] = !here(n.Name) || s.pidOf(ctx, n.Name) == 0
		}
	}
	for _, n := range nodes {
		if errs[n.Name] != nil {
			all = append(all, errs[n.Name])
			failed[n.Name] = true
		}
	}
	if err := s.ensureLinks(ctx, l, failed, progress); err != nil {
		all = append(all, err)
	}
	if err := s.syncHosts(ctx); err != nil {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// afterDeps waits until every dependency of n is done and fails if one failed.
func (s *Service) afterDeps(ctx context.Context, n labfile.Node, done map[string]chan struct{}, errs map[string]error, mu *sync.Mutex) error {
	for _, d := range n.DependsOn {
		ch, ok := done[d]
		if !ok {
			continue // not part of this up (--only): it is kept as it is
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		mu.Lock()
		failed := errs[d] != nil
		mu.Unlock()
		if failed {
			return fmt.Errorf("node %s: not provisioned: it depends on %s, which failed: %w", n.Name, d, api.ErrConflict)
		}
	}
	return nil
}

// provision brings one node to ready and runs its provisioning once.
func (s *Service) provision(ctx context.Context, l *labfile.Lab, n labfile.Node, plan api.LabPlan, req api.LabsPost, progress Progress) error {
	recreate := planned(plan, "recreate", "node", n.Name)
	if recreate || planned(plan, "create", "node", n.Name) {
		if err := s.mustBeHere(ctx, n.Name); err != nil {
			return err
		}
		if _, err := s.Instances.Get(ctx, n.Name); err == nil {
			// Asked for (--recreate), or left by an up that did not finish: an unprovisioned
			// node is re-made from scratch, so it never carries half of its provisioning.
			if recreate {
				progress(n.Name, "re-creating")
			} else {
				progress(n.Name, "re-making (its provisioning did not finish)")
			}
			if err := s.removeNode(ctx, l.Name, n.Name); err != nil {
				return err
			}
		}
		req := instanceRequest(l, n)
		if len(n.Packages) > 0 {
			// Baked into a derived image on the host, cached by recipe and packages: the
			// node itself never downloads anything.
			progress(n.Name, "building "+n.Image+" with "+strings.Join(n.Packages, ","))
			img, err := s.Images.Build(ctx, imagesvc.BuildOptions{Recipe: n.Image, Include: n.Packages}, nil)
			if err != nil {
				return fmt.Errorf("node %s: image %s with packages %s: %w", n.Name, n.Image, strings.Join(n.Packages, ","), err)
			}
			req.Source = api.InstanceSource{Type: "image", Fingerprint: img.Fingerprint}
		}
		progress(n.Name, "creating")
		if _, err := s.Instances.Create(ctx, req, nil); err != nil {
			return fmt.Errorf("node %s: create: %w", n.Name, err)
		}
	}
	full, err := s.Instances.Get(ctx, n.Name)
	if err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	if full.StatusCode != api.Running {
		progress(n.Name, "starting")
		if err := s.Instances.Start(ctx, n.Name); err != nil {
			return fmt.Errorf("node %s: start: %w", n.Name, err)
		}
	}
	state, err := s.DB.LabNodes(ctx, l.Name)
	if err != nil {
		return err
	}
	if script := nicScript(l, n); script != "" && !state[n.Name].Provisioned {
		if err := s.step(ctx, n.Name, "configure interfaces", script, nil, &strings.Builder{}); err != nil {
			return err
		}
	}
	progress(n.Name, "booting")
	if err := s.waitReady(ctx, n); err != nil {
		return err
	}
	if state[n.Name].Provisioned {
		return nil
	}
	progress(n.Name, "provisioning")
	log, err := s.provisionOnce(ctx, n, req)
	if err != nil {
		if rerr := s.DB.SetLabNode(ctx, l.Name, db.LabNode{Name: n.Name, Log: log + "\n" + err.Error()}); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	// The snapshot comes first: a node marked provisioned always has the one reset goes to.
	if _, err := s.Snap.Snapshot(ctx, n.Name, api.InstanceSnapshotsPost{Name: api.LabProvisioned}); err != nil {
		return fmt.Errorf("node %s: snapshot %s: %w", n.Name, api.LabProvisioned, err)
	}
	return s.DB.SetLabNode(ctx, l.Name, db.LabNode{Name: n.Name, Provisioned: true, Log: log})
}

// instanceRequest is the instance a node becomes.
func instanceRequest(l *labfile.Lab, n labfile.Node) api.InstancesPost {
	req := api.InstancesPost{Name: n.Name, Source: api.InstanceSource{Type: "image", Alias: n.Image}}
	req.Config = map[string]string{}
	for k, v := range n.Config {
		req.Config[k] = v
	}
	req.Config[LabKey] = l.Name
	req.Config[ImageKey] = imageSpec(n)
	req.Profiles = profilesOf(n)
	req.Devices = map[string]map[string]string{}
	for _, nic := range n.NICs {
		dev := map[string]string{"type": "nic", "network": NetworkName(l.Name, nic.Network), "name": nic.Name}
		if nic.IPv4 != "" {
			dev["ipv4.address"] = nic.IPv4
		}
		req.Devices[nic.Name] = dev
	}
	return req
}

// removeNode stops and deletes a node's instance and forgets its state.
func (s *Service) removeNode(ctx context.Context, lab, name string) error {
	full, err := s.Instances.Get(ctx, name)
	if err != nil && !errors.Is(err, api.ErrNotFound) {
		return err
	}
	if err == nil {
		if owned(full.Config) != lab {
			return fmt.Errorf("instance %s is not part of lab %s: left alone: %w", name, lab, api.ErrConflict)
		}
		if full.StatusCode != api.Stopped {
			if err := s.Instances.Stop(ctx, name, instance.StopOptions{Timeout: 10 * time.Second, Force: true}); err != nil {
				return fmt.Errorf("node %s: stop: %w", name, err)
			}
		}
		if err := s.Instances.Delete(ctx, name); err != nil {
			return fmt.Errorf("node %s: delete: %w", name, err)
		}
	}
	return s.DB.DeleteLabNode(ctx, lab, name)
}

// lastLines returns the last n lines of out, for error messages.
func lastLines(out string, n int) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
