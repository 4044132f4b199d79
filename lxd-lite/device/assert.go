package device

import "lite/lxd-lite/instance"

// The lifecycle finds a handler's optional capabilities (checking a device before it is
// stored, hotplug, releasing what outlives a run, serving a device itself) by type
// assertion; asserting them here makes a renamed or missing method fail the build instead of
// quietly turning the capability off.
var (
	_ instance.DeviceHandler    = (*Disk)(nil)
	_ instance.DeviceValidator  = (*Disk)(nil)
	_ instance.DeviceHotplugger = (*Disk)(nil)

	_ instance.DeviceHandler   = (*NIC)(nil)
	_ instance.DeviceValidator = (*NIC)(nil)
	_ instance.DeviceRemover   = (*NIC)(nil)

	_ instance.DeviceHandler    = (*Proxy)(nil)
	_ instance.DeviceValidator  = (*Proxy)(nil)
	_ instance.DeviceHotplugger = (*Proxy)(nil)
	_ instance.LiveDevice       = (*Proxy)(nil)

	_ instance.DeviceHandler   = (*Unix)(nil)
	_ instance.DeviceValidator = (*Unix)(nil)
)
