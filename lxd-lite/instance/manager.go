// Package instance is the lifecycle of lite's containers: create, start, stop, delete, with a
// per-instance lock, a revert list for every host change, and a lifecycle event for each.
// The jobs that are not the lifecycle (snapshots, backups, profiles, metadata, file access,
// the scheduler, recovery) are types of their own over the same core (New builds them all).
package instance

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"lite/client/api"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/revert"
	"lite/profiles"
)

// Manager runs the lifecycle of every instance: create (from an image or a copy), start,
// stop, restart, delete, rename, update (restore included), pause and resume, and state. A
// cluster places instances by wrapping this type; the other jobs share its core.
type Manager struct {
	*core
	netState func(pid int) (map[string]api.InstanceStateNetwork, error)
	lxcfs    string
}

// URL returns an instance's API path.
func URL(name string) string { return "/1.0/instances/" + name }

// Start starts a stopped instance.
func (m *Manager) Start(ctx context.Context, name string) error {
	ctx, unlock := m.locks.lockCancellable(ctx, name)
	defer unlock()
	return m.start(ctx, name)
}

// start starts a stopped instance; the caller holds its lock.
func (m *Manager) start(ctx context.Context, name string) error {
	inst, cfg, devs, err := m.stopped(ctx, name, fmt.Errorf("instance %q is already running: %w", name, api.ErrInvalid))
	if err != nil {
		return err
	}
	// Checked again at every start: the row may come from an older lited, a backup, or a
	// lited that ran with the opt-in.
	if err := m.checkRunnable(ctx, inst, cfg); err != nil {
		return err
	}
	im := m.idmapFor(cfg)
	if base := inst.Config["volatile.idmap.base"]; (im == nil) != (base == "0") {
		return fmt.Errorf("instance %q: security.privileged changed since it was created; lite cannot shift an existing container yet: %w", name, api.ErrInvalid)
	}
	vol, err := m.volume(ctx, inst, im)
	if err != nil {
		return err
	}
	remount, err := m.pool.MountArgs(vol)
	if err != nil {
		return err
	}
	spec := RunSpec{
		Name: name, Dir: vol.Path, Rootfs: m.pool.Rootfs(vol), RootfsMount: remount, IDMap: im, Hostname: name,
		Nesting: profiles.IsTrue(cfg["security.nesting"]), RawLXC: cfg["raw.lxc"],
		LogFile: filepath.Join(vol.Path, "lxc.log"), ConsoleLog: filepath.Join(vol.Path, "console.log"), Cgroups: map[string]string{},
	}
	// As in LXD: a pending trigger recorded by copy or rename (volatile.apply_template) is
	// rendered first and cleared, then the start templates, on every start, before init runs.
	// The container starts while its root overlay is mounted on the host (liblxc's child copies
	// the mount into the container's namespace); Mount detaches the host's view afterwards.
	layer := m.templateLayer(name, filepath.Dir(vol.Lower))
	pending := inst.Config["volatile.apply_template"]
	inst.Config, inst.Devices = cfg, devs
	rev := revert.New()
	defer rev.Fail()
	err = m.pool.Mount(vol, func(rootfs string) error {
		if pending != "" {
			if err := m.images.Render(layer, rootfs, pending, inst, im); err != nil {
				return fmt.Errorf("instance %q: render templates: %w", name, err)
			}
		}
		if err := m.images.Render(layer, rootfs, "start", inst, im); err != nil {
			return fmt.Errorf("instance %q: render templates: %w", name, err)
		}
		if pending != "" {
			if err := m.db.SetInstanceConfig(ctx, name, map[string]string{"volatile.apply_template": ""}); err != nil {
				return err
			}
		}
		return m.startRuntime(ctx, startPlan{name: name, cfg: cfg, devs: devs, im: im, spec: &spec, rev: rev})
	})
	if err != nil {
		return err
	}
	rev.Success()
	now := time.Now()
	if err := m.db.SetInstanceConfig(ctx, name, map[string]string{"volatile.last_state.power": "RUNNING"}); err != nil {
		m.log.Warn("record power state", "instance", name, "err", err)
	}
	if err := m.db.TouchInstance(ctx, name, now); err != nil {
		m.log.Warn("record last use", "instance", name, "err", err)
	}
	m.hub.Lifecycle("instance-started", URL(name), nil)
	return nil
}

// startPlan is what startRuntime needs of an instance being started.
type startPlan struct {
	name string
	cfg  map[string]string
	devs map[string]map[string]string
	im   *idmap.Map
	spec *RunSpec
	rev  *revert.Reverter
}

// startRuntime sets up the instance's limits and devices and starts it.
func (m *Manager) startRuntime(ctx context.Context, p startPlan) error {
	name, cfg, spec := p.name, p.cfg, p.spec
	limits, _, err := cgroupLimits(cfg, m.cgroups)
	if err != nil {
		return fmt.Errorf("instance %q: %w", name, err)
	}
	for k, v := range limits {
		spec.Cgroups[k] = v
	}
	spec.Mounts = append(spec.Mounts, lxcfsMounts(m.lxcfs)...)
	dc := m.deviceContext(name, cfg, p.im)
	if err := m.startDevices(ctx, dc, p.devs, spec, p.rev); err != nil {
		return err
	}
	return m.rt.Start(ctx, *spec)
}

// Stop stops a running instance. A forced stop (or one without a timeout) wins over
// whatever holds the instance: a clean stop that may never end, a restart, a snapshot. It
// cancels that operation and kills the container within moments.
func (m *Manager) Stop(ctx context.Context, name string, opts StopOptions) error {
	// Only a running container is worth preempting for: on a stopped one the holder is a
	// publish, an export or a copy, which a forced stop must not cancel. It waits (a start
	// that holds the lock ends within seconds) and then answers "already stopped".
	if st, err := m.rt.State(ctx, name); err == nil && st.Running && (opts.Force || opts.Timeout == 0) {
		ctx, unlock, preempted := m.locks.lockPreempting(ctx, name)
		defer unlock()
		err := m.stop(ctx, name, opts)
		// What it cancelled had stopped it already, or it ended by itself in between (the
		// runtime's own "not running").
		if preempted && errors.Is(err, api.ErrNotRunning) {
			return nil
		}
		return err
	}
	ctx, unlock := m.locks.lockCancellable(ctx, name)
	defer unlock()
	return m.stop(ctx, name, opts)
}

// errAlreadyStopped marks a stop of an instance that does not run.
var errAlreadyStopped = errors.New("already stopped")

// stop stops a running instance; the caller holds its lock.
func (m *Manager) stop(ctx context.Context, name string, opts StopOptions) error {
	if _, err := m.db.GetInstance(ctx, name); err != nil {
		return err
	}
	st, err := m.rt.State(ctx, name)
	if err != nil {
		return err
	}
	if !st.Running {
		return fmt.Errorf("instance %q is %w: %w", name, errAlreadyStopped, api.ErrNotRunning)
	}
	// A frozen container cannot run its shutdown: thaw it first, as LXD does.
	if fz, ok := m.rt.(Freezer); ok && st.Frozen {
		if err := fz.Unfreeze(ctx, name); err != nil {
			return err
		}
	}
	if err := m.rt.Stop(ctx, name, opts); err != nil {
		return err
	}
	if inst, err := m.db.GetInstance(ctx, name); err == nil {
		if cfg, devs, err := m.expand(ctx, inst); err == nil {
			m.stopDevices(ctx, m.deviceContext(name, cfg, m.idmapFor(cfg)), devs)
		}
	}
	if err := m.db.SetInstanceConfig(ctx, name, map[string]string{"volatile.last_state.power": "STOPPED"}); err != nil {
		m.log.Warn("record power state", "instance", name, "err", err)
	}
	action := "instance-shutdown"
	if opts.Force || opts.Timeout == 0 {
		action = "instance-stopped"
	}
	m.hub.Lifecycle(action, URL(name), nil)
	return nil
}

// Restart stops (cleanly or not) and starts an instance, holding it throughout so nothing
// slips in between; a forced stop still preempts it.
func (m *Manager) Restart(ctx context.Context, name string, opts StopOptions) error {
	ctx, unlock := m.locks.lockCancellable(ctx, name)
	defer unlock()
	if err := m.stop(ctx, name, opts); err != nil {
		return err
	}
	if err := m.start(ctx, name); err != nil {
		return err
	}
	m.hub.Lifecycle("instance-restarted", URL(name), nil)
	return nil
}

// Delete removes a stopped instance: its row first, then its files, so a crash in between
// leaves only files that Recover sweeps away.
func (m *Manager) Delete(ctx context.Context, name string) error {
	ctx, unlock := m.locks.lock(ctx, name)
	defer unlock()
	_, cfg, devs, err := m.stopped(ctx, name, fmt.Errorf("instance %q is running: stop it first, or delete with --force: %w", name, api.ErrInvalid))
	if err != nil {
		return err
	}
	// The container may have stopped on its own: release its devices (idempotent), then
	// what they hold past its run (leases, DNS names).
	dc := m.deviceContext(name, cfg, m.idmapFor(cfg))
	m.stopDevices(ctx, dc, devs)
	if err := m.db.DeleteInstance(ctx, name); err != nil {
		return err
	}
	m.removeDevices(ctx, dc, devs)
	m.removeCgroups(name)
	if err := m.pool.Delete(m.pool.Volume(name, "")); err != nil {
		return err
	}
	m.hub.Lifecycle("instance-deleted", URL(name), nil)
	return nil
}

// CgroupRemover is implemented by runtimes that can remove the cgroups a container that no
// longer runs left on the host.
type CgroupRemover interface {
	RemoveCgroups(name string) error
}

// removeCgroups removes a stopped container's leftover cgroups; errors are logged.
func (m *Manager) removeCgroups(name string) {
	if r, ok := m.rt.(CgroupRemover); ok {
		if err := r.RemoveCgroups(name); err != nil {
			m.log.Warn("remove leftover cgroups", "instance", name, "err", err)
		}
	}
}
