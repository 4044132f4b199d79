package instance

import (
	"context"
)

// DeviceRemover is implemented by handlers whose devices hold something beyond the
// container's run (a DHCP lease, a DNS name) that goes when the instance is deleted.
type DeviceRemover interface {
	Remove(ctx context.Context, dc DeviceContext, name string, dev map[string]string) error
}

// LiveDevice is implemented by handlers whose devices lited serves itself (a proxy's
// listener): they die with lited, so Serve starts them again on running containers when a
// new lited starts. Stop (of DeviceHandler) ends one.
type LiveDevice interface {
	Serve(ctx context.Context, dc DeviceContext, name string, dev map[string]string) error
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
