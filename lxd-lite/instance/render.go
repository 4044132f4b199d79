package instance

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"lite/client/api"
	"lite/db"
	"lite/profiles"
)

// Get returns one instance with its live state.
func (m *Manager) Get(ctx context.Context, name string) (api.InstanceFull, error) {
	inst, err := m.db.GetInstance(ctx, name)
	if err != nil {
		return api.InstanceFull{}, err
	}
	shared, err := m.readShared(ctx, []db.Instance{inst})
	if err != nil {
		return api.InstanceFull{}, err
	}
	return m.render(ctx, inst, true, shared)
}

// listWorkers bounds how many instances List renders at once.
const listWorkers = 8

// List returns every instance with its live state. Most of an instance's render time is spent
// waiting (on its liblxc monitor's command socket, on netlink in its namespace), so instances
// render concurrently and those waits overlap.
func (m *Manager) List(ctx context.Context) ([]api.InstanceFull, error) {
	return m.ListWhere(ctx, nil)
}

// ListWhere is List of the instances whose name keep accepts (nil: all). A cluster member
// renders only its own instances: the others' live state is on their members.
func (m *Manager) ListWhere(ctx context.Context, keep func(name string) bool) ([]api.InstanceFull, error) {
	all, err := m.db.ListInstances(ctx)
	if err != nil {
		return nil, err
	}
	list := all
	if keep != nil {
		list = make([]db.Instance, 0, len(all))
		for _, inst := range all {
			if keep(inst.Name) {
				list = append(list, inst)
			}
		}
	}
	shared, err := m.readShared(ctx, list)
	if err != nil {
		return nil, err
	}
	out := make([]api.InstanceFull, len(list))
	errs := make([]error, len(list))
	sem := make(chan struct{}, listWorkers)
	var wg sync.WaitGroup
	for i := range list {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = m.render(ctx, list[i], false, shared)
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// listShared is what the instances of one list share, read once for the whole list: each
// read is a round trip to the database (over the network in a cluster), so a list costs a
// few of them whatever its length.
type listShared struct {
	profiles map[string]db.Profile
	snaps    map[string][]db.Snapshot
}

// readShared reads the profiles the instances of list use and their snapshots (every
// instance's in one query for a list, the one instance's for a get).
func (m *Manager) readShared(ctx context.Context, list []db.Instance) (*listShared, error) {
	var names []string
	for _, inst := range list {
		for _, p := range inst.Profiles {
			if !slices.Contains(names, p) {
				names = append(names, p)
			}
		}
	}
	profs, err := m.db.GetProfiles(ctx, names)
	if err != nil {
		return nil, err
	}
	sh := &listShared{profiles: map[string]db.Profile{}, snaps: map[string][]db.Snapshot{}}
	for _, p := range profs {
		sh.profiles[p.Name] = p
	}
	switch len(list) {
	case 0:
	case 1:
		sh.snaps[list[0].Name], err = m.db.ListSnapshots(ctx, list[0].Name)
	default:
		sh.snaps, err = m.db.SnapshotsByInstance(ctx)
	}
	if err != nil {
		return nil, err
	}
	return sh, nil
}

// profilesOf returns an instance's profiles in its order (an error on a nil listShared).
func (sh *listShared) profilesOf(inst db.Instance) ([]db.Profile, error) {
	if sh == nil {
		return nil, fmt.Errorf("no profiles read for the list: %w", api.ErrNotFound)
	}
	out := make([]db.Profile, 0, len(inst.Profiles))
	for _, n := range inst.Profiles {
		p, ok := sh.profiles[n]
		if !ok {
			return nil, fmt.Errorf("profile %q: %w", n, api.ErrNotFound)
		}
		out = append(out, p)
	}
	return out, nil
}

// render builds the wire form from what readShared read for it. Disk usage walks the writable
// layer, so only single-instance requests pay for it.
func (m *Manager) render(ctx context.Context, inst db.Instance, disk bool, shared *listShared) (api.InstanceFull, error) {
	profs, err := shared.profilesOf(inst)
	if err != nil {
		return api.InstanceFull{}, err
	}
	cfg, devs := expandWith(inst, profs)
	snaps := shared.snaps[inst.Name]
	st, err := m.rt.State(ctx, inst.Name)
	if err != nil {
		return api.InstanceFull{}, err
	}
	code := api.Stopped
	switch {
	case st.Frozen:
		code = api.Frozen
	case st.Running:
		code = api.Running
	}
	state := &api.InstanceState{
		Status: code.String(), StatusCode: code, Pid: int64(st.Pid), Processes: st.Processes,
		CPU:     api.InstanceStateCPU{Usage: st.CPUNs},
		Memory:  api.InstanceStateMemory{Usage: st.MemUsage, UsagePeak: st.MemPeak},
		Disk:    map[string]api.InstanceStateDisk{},
		Network: map[string]api.InstanceStateNetwork{},
	}
	if !st.Running {
		state.Processes = 0
	}
	if st.Running && m.netState != nil {
		m.fillNetwork(state, st.Pid, cfg, devs)
	}
	if disk {
		state.Disk["root"] = api.InstanceStateDisk{Usage: m.pool.Usage(m.pool.Volume(inst.Name, ""))}
	}
	snapshots := make([]api.InstanceSnapshot, 0, len(snaps))
	for _, s := range snaps {
		snapshots = append(snapshots, m.renderSnapshotWith(ctx, s, false, shared))
	}
	lastUsed := inst.LastUsedAt
	if lastUsed.Unix() <= 0 {
		lastUsed = time.Unix(0, 0).UTC()
	}
	return api.InstanceFull{
		Instance: api.Instance{
			InstancePut: api.InstancePut{
				Architecture: inst.Architecture, Config: inst.Config, Devices: inst.Devices,
				Ephemeral: inst.Ephemeral, Profiles: inst.Profiles, Description: inst.Description,
			},
			Name: inst.Name, Type: inst.Type, Status: code.String(), StatusCode: code,
			CreatedAt: inst.CreatedAt, LastUsedAt: lastUsed,
			ExpandedConfig: cfg, ExpandedDevices: devs, Location: location(inst.Node), Project: "default",
		},
		State: state, Snapshots: snapshots, Backups: []any{},
	}, nil
}

// Update replaces an instance's writable config (PUT). Volatile keys may come back unchanged.
func (m *Manager) Update(ctx context.Context, name string, put api.InstancePut) error {
	if put.Restore != "" {
		return m.Restore(ctx, name, put.Restore)
	}
	ctx, unlock := m.locks.lock(ctx, name)
	defer unlock()
	inst, err := m.db.GetInstance(ctx, name)
	if err != nil {
		return err
	}
	if put.Config == nil {
		put.Config = map[string]string{}
	}
	// What a concurrent start or stop changed is not the client's to undo (nor an error):
	// its copy of these keys is dropped, and the stored values are kept below.
	for k := range put.Config {
		if profiles.IsRuntimeVolatile(k) {
			delete(put.Config, k)
		}
	}
	if err := profiles.ValidateInstanceConfig(put.Config, inst.Config); err != nil {
		return err
	}
	if err := profiles.ValidateDevices(put.Devices); err != nil {
		return err
	}
	// Volatile keys are the daemon's: keep the stored ones whatever the client sent.
	for k, v := range inst.Config {
		if len(k) > 9 && k[:9] == "volatile." {
			put.Config[k] = v
		}
	}
	if put.Profiles == nil {
		put.Profiles = []string{}
	}
	if put.Devices == nil {
		put.Devices = map[string]map[string]string{}
	}
	next := inst
	next.Config, next.Devices, next.Profiles, next.Description = put.Config, put.Devices, put.Profiles, put.Description
	if err := m.checkDevices(ctx, m.deviceContext(name, put.Config, nil), put.Devices); err != nil {
		return err
	}
	cfg, devs, err := m.expand(ctx, next)
	if err != nil {
		return err
	}
	if next.Config["security.privileged"] != inst.Config["security.privileged"] {
		return fmt.Errorf("security.privileged cannot change after creation yet: %w", api.ErrInvalid)
	}
	if err := m.checkExpanded(ctx, name, cfg, devs); err != nil {
		return err
	}
	oldCfg, oldDevs, err := m.expand(ctx, inst)
	if err != nil {
		return err
	}
	st, err := m.rt.State(ctx, name)
	if err != nil {
		return err
	}
	undo, err := m.applyLive(ctx, name, live{oldCfg, cfg, oldDevs, devs})
	if err != nil {
		return err
	}
	if err := m.db.UpdateInstance(ctx, next); err != nil {
		undo()
		return err
	}
	if !st.Running {
		// A stopped instance's removed or changed devices give back what they held (a
		// lease, a name); the new ones take it again at the next start.
		gone := map[string]map[string]string{}
		for n, od := range oldDevs {
			if nd, ok := devs[n]; !ok || !maps.Equal(nd, od) {
				gone[n] = od
			}
		}
		m.removeDevices(ctx, m.deviceContext(name, oldCfg, m.idmapFor(oldCfg)), gone)
	}
	m.hub.Lifecycle("instance-updated", URL(name), nil)
	return nil
}

// Running reports whether an existing instance runs (and is not frozen). It reads only the
// row and the runtime state, so exec does not pay for Get's disk walk and network dump.
func (m *Manager) Running(ctx context.Context, name string) (bool, error) {
	if _, err := m.db.GetInstance(ctx, name); err != nil {
		return false, err
	}
	st, err := m.rt.State(ctx, name)
	if err != nil {
		return false, err
	}
	return st.Running && !st.Frozen, nil
}

// ExecEnv returns the environment an exec session starts with: LXD's defaults, then the
// instance's environment.* keys, then what the request asked for.
func (m *Manager) ExecEnv(ctx context.Context, name string, req map[string]string, uid uint32) ([]string, string, error) {
	inst, err := m.db.GetInstance(ctx, name)
	if err != nil {
		return nil, "", err
	}
	cfg, _, err := m.expand(ctx, inst)
	if err != nil {
		return nil, "", err
	}
	env := map[string]string{
		"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG": "C.UTF-8",
	}
	home := "/"
	if uid == 0 {
		home = "/root"
		env["HOME"], env["USER"] = "/root", "root"
	}
	for k, v := range cfg {
		if len(k) > len("environment.") && k[:len("environment.")] == "environment." {
			env[k[len("environment."):]] = v
		}
	}
	for k, v := range req {
		env[k] = v
	}
	if h, ok := env["HOME"]; ok {
		home = h
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out, home, nil
}

// fillNetwork reports the container's interfaces, with the host end of each nic's veth.
func (m *Manager) fillNetwork(state *api.InstanceState, pid int, cfg map[string]string, devs map[string]map[string]string) {
	nets, err := m.netState(pid)
	if err != nil {
		m.log.Debug("read container interfaces", "pid", pid, "err", err)
		return
	}
	for n, d := range devs {
		if d["type"] != "nic" {
			continue
		}
		iface := d["name"]
		if iface == "" {
			iface = n
		}
		if ns, ok := nets[iface]; ok {
			ns.HostName = cfg["volatile."+n+".host_name"]
			nets[iface] = ns
		}
	}
	state.Network = nets
}

// location is api.Instance.Location: the member an instance lives on, "none" on a single
// host (as LXD).
func location(node string) string {
	if node == "" {
		return "none"
	}
	return node
}
