package profiles

import (
	"fmt"

	"lite/client/api"
)

// Layer is one source of config and devices: a profile, or the instance's own.
type Layer struct {
	Config  map[string]string
	Devices map[string]map[string]string
}

// Expand applies profiles in order, then the instance's own config and devices, and returns
// the result. A later device of the same name replaces an earlier one whole; a device of type
// "none" removes one that a profile added.
func Expand(layers ...Layer) (map[string]string, map[string]map[string]string) {
	cfg := map[string]string{}
	devs := map[string]map[string]string{}
	for _, l := range layers {
		for k, v := range l.Config {
			cfg[k] = v
		}
		for name, d := range l.Devices {
			if d["type"] == "none" {
				delete(devs, name)
				continue
			}
			c := make(map[string]string, len(d))
			for k, v := range d {
				c[k] = v
			}
			devs[name] = c
		}
	}
	return cfg, devs
}

// deviceTypes lists the device types lite knows and the keys each takes.
var deviceTypes = map[string]map[string]Validator{
	"nic": {"network": IsAny, "nictype": Optional(IsOneOf("bridged")), "parent": IsAny, "name": Optional(IsInterfaceName),
		"hwaddr": Optional(IsMAC), "host_name": Optional(IsInterfaceName), "mtu": Optional(IsUintRange(1280, 9000)),
		"ipv4.address": Optional(IsIPv4), "security.mac_filtering": Optional(IsBool), "security.ipv4_filtering": Optional(IsBool)},
	"proxy":      {"listen": IsAny, "connect": IsAny, "bind": Optional(IsOneOf("host"))},
	"disk":       {"path": Optional(IsAbsPath), "pool": IsAny, "source": IsAny, "required": Optional(IsBool), "readonly": Optional(IsBool), "shift": Optional(IsBool)},
	"none":       {},
	"unix-char":  unixDeviceKeys,
	"unix-block": unixDeviceKeys,
}

// unixDeviceKeys are the keys of unix-char and unix-block devices.
var unixDeviceKeys = map[string]Validator{
	"source": Optional(IsAbsPath), "path": Optional(IsAbsPath),
	"major": Optional(IsUintRange(0, 4095)), "minor": Optional(IsUintRange(0, 1<<20-1)),
	"uid": Optional(IsUintRange(0, 65535)), "gid": Optional(IsUintRange(0, 65535)),
	"mode": Optional(IsFileMode), "required": Optional(IsBool),
}

// ValidateDevices checks every device's type and keys.
func ValidateDevices(devs map[string]map[string]string) error {
	for name, d := range devs {
		if err := ValidateDeviceName(name); err != nil {
			return fmt.Errorf("%v: %w", err, api.ErrInvalid)
		}
		keys, ok := deviceTypes[d["type"]]
		if !ok {
			return fmt.Errorf("device %q: unknown or missing type %q: %w", name, d["type"], api.ErrInvalid)
		}
		for k, v := range d {
			if k == "type" {
				continue
			}
			val, ok := keys[k]
			if !ok {
				return fmt.Errorf("device %q: unknown key %q for type %q: %w", name, k, d["type"], api.ErrInvalid)
			}
			if err := singleLine(val)(v); err != nil {
				return fmt.Errorf("device %q: key %q: %v: %w", name, k, err, api.ErrInvalid)
			}
		}
	}
	return nil
}
