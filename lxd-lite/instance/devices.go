package instance

import (
	"context"
	"fmt"
	"sort"

	"lite/client/api"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/revert"
)

// NIC is a network interface lxc creates: a veth pair whose host end joins a bridge.
type NIC struct {
	Name     string // inside the container (eth0)
	HostName string // host end of the veth
	Bridge   string
	Hwaddr   string
	MTU      int
	IPv4     string // static address for lxc to set, "" for DHCP
}

// Mount is a bind mount from the host into the container.
type Mount struct {
	Source   string // host path
	Path     string // path inside the container, absolute
	ReadOnly bool
	Optional bool
	Dir      bool // source is a directory (else a file)
	// Shift makes it an idmapped mount through the container's user namespace, so host
	// files owned by uid 0 appear owned by root inside (unprivileged containers only).
	Shift bool
}

// DeviceNode is a character or block device made inside the container.
type DeviceNode struct {
	Path         string
	Type         string // "c" or "b"
	Major, Minor uint32
	// Source is a node the handler made on the host, owned by the container's mapped ids;
	// it is bind-mounted at Path (an unprivileged container cannot mknod).
	Source string
	// AllowKey is the lxc key that lets the container use the device
	// ("lxc.cgroup.devices.allow" on v1, "lxc.cgroup2.devices.allow" on v2).
	AllowKey string
}

// DeviceContext is what a device handler knows of the instance it serves.
type DeviceContext struct {
	Name   string
	Config map[string]string // expanded
	IDMap  *idmap.Map        // nil: privileged
	// SetVolatile records volatile.* keys (a stable MAC, a host veth name).
	SetVolatile func(kv map[string]string) error
}

// DeviceHandler turns devices of one type into host resources and run-time config. Handlers
// are registered by type ("nic", "disk", "proxy", ...) when the daemon is wired.
type DeviceHandler interface {
	// Start prepares the device on the host and adds what liblxc needs to spec. The returned
	// undo (may be nil) reverts it if a later step of the start fails.
	Start(ctx context.Context, inst DeviceContext, name string, dev map[string]string, spec *RunSpec) (undo func(), err error)
	// Stop releases host resources after the container stopped. It must be idempotent: a
	// container may stop on its own, and lited may have restarted in between.
	Stop(ctx context.Context, inst DeviceContext, name string, dev map[string]string) error
}

// startDevices runs each device's handler in name order; a failure undoes the ones done.
func (m *Manager) startDevices(ctx context.Context, dc DeviceContext, devs map[string]map[string]string, spec *RunSpec, rev *revert.Reverter) error {
	names := make([]string, 0, len(devs))
	for n := range devs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		dev := devs[n]
		h, ok := m.devices[dev["type"]]
		if !ok {
			if dev["type"] == "disk" && dev["path"] == "/" {
				continue // the root disk is the storage volume itself
			}
			return fmt.Errorf("device %q: type %q is not supported by this lited: %w", n, dev["type"], api.ErrInvalid)
		}
		undo, err := h.Start(ctx, dc, n, dev, spec)
		if err != nil {
			return fmt.Errorf("device %q: %w", n, err)
		}
		if undo != nil {
			rev.Add(undo)
		}
	}
	return nil
}

// stopDevices releases the host side of every device; errors are logged, not fatal.
func (m *Manager) stopDevices(ctx context.Context, dc DeviceContext, devs map[string]map[string]string) {
	for n, dev := range devs {
		if h, ok := m.devices[dev["type"]]; ok {
			if err := h.Stop(ctx, dc, n, dev); err != nil {
				m.log.Warn("release device", "instance", dc.Name, "device", n, "err", err)
			}
		}
	}
}
