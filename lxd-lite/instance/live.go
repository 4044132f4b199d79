package instance

import (
	"context"
	"fmt"
	"reflect"
	"sort"

	"lite/client/api"
	"lite/lxd-lite/revert"
	"lite/profiles"
)

// DeviceValidator is implemented by device handlers that can check a device before it is
// stored (a disk source that must exist, say), so bad input is refused at once rather than
// at the next start.
type DeviceValidator interface {
	Validate(ctx context.Context, inst DeviceContext, name string, dev map[string]string) error
}

// DeviceHotplugger is implemented by device handlers that can add a device to, and remove it
// from, a running container (its init is pid). Devices of other types change at the next start.
type DeviceHotplugger interface {
	Attach(ctx context.Context, inst DeviceContext, pid int, name string, dev map[string]string) error
	Detach(ctx context.Context, inst DeviceContext, pid int, name string, dev map[string]string) error
}

// checkDevices runs the static checks and every handler's own on devs. Unexpanded sets (a
// profile's, an instance's own) may hold "none" devices; those need no handler.
func (m *core) checkDevices(ctx context.Context, dc DeviceContext, devs map[string]map[string]string) error {
	if err := profiles.ValidateDevices(devs); err != nil {
		return err
	}
	names := make([]string, 0, len(devs))
	for n := range devs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		dev := devs[n]
		if dev["type"] == "none" || dev["type"] == "disk" && dev["path"] == "/" {
			continue
		}
		h, ok := m.devices[dev["type"]]
		if !ok {
			return fmt.Errorf("device %q: type %q is not supported by this lited: %w", n, dev["type"], api.ErrInvalid)
		}
		if v, ok := h.(DeviceValidator); ok {
			if err := v.Validate(ctx, dc, n, dev); err != nil {
				return fmt.Errorf("device %q: %w", n, err)
			}
		}
	}
	return nil
}

// checkExpanded checks an instance's expanded config and devices as a start would use them.
func (m *core) checkExpanded(ctx context.Context, name string, cfg map[string]string, devs map[string]map[string]string) error {
	if err := m.checkRawLXC(cfg); err != nil {
		return fmt.Errorf("instance %q: %w", name, err)
	}
	if _, _, err := cgroupLimits(cfg, m.cgroups); err != nil {
		return fmt.Errorf("instance %q: %w", name, err)
	}
	if err := m.checkDevices(ctx, m.deviceContext(name, cfg, m.idmapFor(cfg)), devs); err != nil {
		return fmt.Errorf("instance %q: %w", name, err)
	}
	return nil
}

// live is an instance's expanded config and devices before and after a change.
type live struct {
	oldCfg, newCfg   map[string]string
	oldDevs, newDevs map[string]map[string]string
}

// applyLive changes a running instance's cgroup settings from what oldCfg asks to what
// newCfg asks, and hotplugs the devices that changed where their handler can. It returns an
// undo that restores the old state; on error it has already restored it. A stopped instance
// needs nothing: its next start reads the new config.
func (m *core) applyLive(ctx context.Context, name string, l live) (func(), error) {
	oldCfg, newCfg := l.oldCfg, l.newCfg
	st, err := m.rt.State(ctx, name)
	if err != nil {
		return nil, err
	}
	if !st.Running {
		return func() {}, nil
	}
	oldSet, _, err := cgroupLimits(oldCfg, m.cgroups)
	if err != nil {
		oldSet = map[string]string{} // an old config lite no longer accepts: treat as unset
	}
	newSet, resets, err := cgroupLimits(newCfg, m.cgroups)
	if err != nil {
		return nil, fmt.Errorf("instance %q: %w", name, err)
	}
	keys := make([]string, 0, len(resets))
	for k := range resets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rev := revert.New()
	defer rev.Fail()
	for _, k := range keys {
		have, want := resets[k], resets[k]
		if v, ok := oldSet[k]; ok {
			have = v
		}
		if v, ok := newSet[k]; ok {
			want = v
		}
		if have == want {
			continue
		}
		if err := m.rt.SetCgroup(ctx, name, k, want); err != nil {
			return nil, fmt.Errorf("instance %q: apply %s=%s: %v: %w", name, k, want, err, api.ErrInvalid)
		}
		key, back := k, have
		rev.Add(func() {
			if err := m.rt.SetCgroup(context.Background(), name, key, back); err != nil {
				m.log.Warn("restore cgroup setting", "instance", name, "key", key, "err", err)
			}
		})
	}
	if err := m.hotplug(ctx, name, st.Pid, l, rev); err != nil {
		return nil, err
	}
	undo := rev.Clone().Fail
	rev.Success()
	return undo, nil
}

// hotplug detaches the devices that went or changed and attaches the ones that came or
// changed, for handlers that can; each step adds its inverse to rev.
func (m *core) hotplug(ctx context.Context, name string, pid int, l live, rev *revert.Reverter) error {
	oldDC := m.deviceContext(name, l.oldCfg, m.idmapFor(l.oldCfg))
	newDC := m.deviceContext(name, l.newCfg, m.idmapFor(l.newCfg))
	same := func(a, b map[string]string) bool { return reflect.DeepEqual(a, b) }
	for _, n := range sortedNames(l.oldDevs) {
		dev := l.oldDevs[n]
		hp, ok := m.devices[dev["type"]].(DeviceHotplugger)
		if !ok || same(dev, l.newDevs[n]) {
			continue
		}
		if err := hp.Detach(ctx, oldDC, pid, n, dev); err != nil {
			return fmt.Errorf("instance %q: detach device %q: %w", name, n, err)
		}
		rev.Add(func() {
			if err := hp.Attach(context.Background(), oldDC, pid, n, dev); err != nil {
				m.log.Warn("re-attach device", "instance", name, "device", n, "err", err)
			}
		})
	}
	for _, n := range sortedNames(l.newDevs) {
		dev := l.newDevs[n]
		hp, ok := m.devices[dev["type"]].(DeviceHotplugger)
		if !ok || same(dev, l.oldDevs[n]) {
			continue
		}
		if err := hp.Attach(ctx, newDC, pid, n, dev); err != nil {
			return fmt.Errorf("instance %q: attach device %q: %w", name, n, err)
		}
		rev.Add(func() {
			if err := hp.Detach(context.Background(), newDC, pid, n, dev); err != nil {
				m.log.Warn("detach device", "instance", name, "device", n, "err", err)
			}
		})
	}
	return nil
}

func sortedNames(devs map[string]map[string]string) []string {
	out := make([]string, 0, len(devs))
	for n := range devs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
