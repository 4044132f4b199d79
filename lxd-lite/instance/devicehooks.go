package instance

import (
	"context"
	"fmt"
	"maps"
	"sort"
)

// DeviceValidator is implemented by handlers that check a device against the host's state
// (the network exists, a fixed address is free) when an instance is created or changed, so
// a bad device is refused before anything is stored.
type DeviceValidator interface {
	Validate(ctx context.Context, inst, name string, dev map[string]string) error
}

// DeviceRemover is implemented by handlers whose devices hold something beyond the
// container's run (a DHCP lease, a DNS name) that goes when the instance is deleted.
type DeviceRemover interface {
	Remove(ctx context.Context, dc DeviceContext, name string, dev map[string]string) error
}

// LiveDevice is implemented by handlers whose devices lited serves itself (a proxy's
// listener): Attach starts one on a running container, after a hotplug or a restart of lited.
// Stop (of DeviceHandler) ends it.
type LiveDevice interface {
	Attach(ctx context.Context, dc DeviceContext, name string, dev map[string]string) error
}

// validateDevices runs the handlers' host checks on an instance's expanded devices.
func (m *Manager) validateDevices(ctx context.Context, inst string, devs map[string]map[string]string) error {
	for _, n := range sortedNames(devs) {
		dev := devs[n]
		// A type without a handler is refused when the instance starts.
		if v, ok := m.devices[dev["type"]].(DeviceValidator); ok {
			if err := v.Validate(ctx, inst, n, dev); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeDevices releases what devices hold past the container's run; errors are logged.
func (m *Manager) removeDevices(ctx context.Context, dc DeviceContext, devs map[string]map[string]string) {
	for n, dev := range devs {
		if r, ok := m.devices[dev["type"]].(DeviceRemover); ok {
			if err := r.Remove(ctx, dc, n, dev); err != nil {
				m.log.Warn("release device", "instance", dc.Name, "device", n, "err", err)
			}
		}
	}
}

// hotplug applies device changes to a running instance for the handlers that can: removed
// or changed live devices stop, added or changed ones attach. A failed attach undoes the
// ones done and puts back what was stopped, so the caller can refuse the change whole.
func (m *Manager) hotplug(ctx context.Context, dc DeviceContext, old, next map[string]map[string]string) error {
	var stopped, attached []string
	undo := func() {
		for _, n := range attached {
			_ = m.devices[next[n]["type"]].Stop(ctx, dc, n, next[n])
		}
		for _, n := range stopped {
			if l, ok := m.devices[old[n]["type"]].(LiveDevice); ok {
				if err := l.Attach(ctx, dc, n, old[n]); err != nil {
					m.log.Warn("restore device", "instance", dc.Name, "device", n, "err", err)
				}
			}
		}
	}
	for _, n := range sortedNames(old) {
		if nd, ok := next[n]; ok && maps.Equal(nd, old[n]) {
			continue
		}
		if _, live := m.devices[old[n]["type"]].(LiveDevice); live {
			if err := m.devices[old[n]["type"]].Stop(ctx, dc, n, old[n]); err != nil {
				undo()
				return fmt.Errorf("device %q: %w", n, err)
			}
			stopped = append(stopped, n)
		}
	}
	for _, n := range sortedNames(next) {
		if od, ok := old[n]; ok && maps.Equal(od, next[n]) {
			continue
		}
		if l, live := m.devices[next[n]["type"]].(LiveDevice); live {
			if err := l.Attach(ctx, dc, n, next[n]); err != nil {
				undo()
				return fmt.Errorf("device %q: %w", n, err)
			}
			attached = append(attached, n)
		}
	}
	return nil
}

// RestoreDevices attaches the live devices of every running instance; lited calls it once
// it has started, since their listeners died with the previous lited.
func (m *Manager) RestoreDevices(ctx context.Context) error {
	list, err := m.db.ListInstances(ctx)
	if err != nil {
		return err
	}
	for _, inst := range list {
		st, err := m.rt.State(ctx, inst.Name)
		if err != nil || !st.Running {
			continue
		}
		cfg, devs, err := m.expand(ctx, inst)
		if err != nil {
			return err
		}
		dc := m.deviceContext(inst.Name, cfg, m.idmapFor(cfg))
		for _, n := range sortedNames(devs) {
			if l, ok := m.devices[devs[n]["type"]].(LiveDevice); ok {
				if err := l.Attach(ctx, dc, n, devs[n]); err != nil {
					m.log.Error("re-establish device", "instance", inst.Name, "device", n, "err", err)
				}
			}
		}
	}
	return nil
}

func sortedNames(devs map[string]map[string]string) []string {
	names := make([]string, 0, len(devs))
	for n := range devs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
