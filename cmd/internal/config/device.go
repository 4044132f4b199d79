package config

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
)

// DeviceOptions are the inputs of the device commands of lite config and lite profile.
type DeviceOptions struct {
	base          // Name is the instance or profile
	Kind Kind     // what Name names
	Args []string // the arguments after the target
}

// deviceCmd is a `device` subcommand: what is its usage after the target, min and max bound
// its argument count (max -1: no bound), run does the work.
type deviceCmd struct {
	what, short string
	min, max    int
	run         func(context.Context, *DeviceOptions) error
}

var deviceCmds = map[string]deviceCmd{
	"add":    {"DEVICE TYPE [KEY=VALUE...]", "Add a device", 3, -1, RunDeviceAdd},
	"remove": {"DEVICE...", "Remove devices", 2, -1, RunDeviceRemove},
	"list":   {"", "List devices", 1, 1, RunDeviceList},
	"show":   {"", "Show devices as YAML", 1, 1, RunDeviceShow},
	"get":    {"DEVICE KEY", "Get a device key", 3, 3, RunDeviceGet},
	"set":    {"DEVICE KEY=VALUE...", "Set device keys", 3, -1, RunDeviceSet},
	"unset":  {"DEVICE KEY", "Unset a device key", 3, 3, RunDeviceUnset},
}

// NewCmdDevice returns the `device` group of lite config (kind Instance) or lite profile
// (Profile).
func NewCmdDevice(f *cli.Factory, kind Kind) *cobra.Command {
	var subs []*cobra.Command
	for _, verb := range []string{"add", "remove", "list", "show", "get", "set", "unset"} {
		subs = append(subs, NewCmdDeviceVerb(f, kind, verb, nil))
	}
	what := "an instance"
	if kind == Profile {
		what = "a profile"
	}
	return group("device", "Manage devices of "+what, subs...)
}

// NewCmdDeviceVerb returns `device VERB [REMOTE:]INSTANCE|PROFILE ...` (verb one of add,
// remove, list, show, get, set, unset); runF replaces its RunDeviceVerb in tests.
func NewCmdDeviceVerb(f *cli.Factory, kind Kind, verb string, runF func(context.Context, *DeviceOptions) error) *cobra.Command {
	d := deviceCmds[verb]
	use := verb + " [REMOTE:]" + strings.ToUpper(string(kind))
	if d.what != "" {
		use += " " + d.what
	}
	opts := &DeviceOptions{Kind: kind}
	return newCmd(f, &opts.base, runner(runF, d.run, opts), &cobra.Command{Use: use, Short: d.short, Args: cli.RangeArgs(d.min, d.max)},
		func(args []string) error { opts.Args = args[1:]; return nil })
}

// RunDeviceAdd adds device Args[0] of type Args[1] with the keys that follow.
func RunDeviceAdd(ctx context.Context, opts *DeviceOptions) error {
	t, err := opts.load(ctx, opts.Kind)
	if err != nil {
		return err
	}
	name, typ := opts.Args[0], opts.Args[1]
	if _, ok := t.devices()[name]; ok {
		return fmt.Errorf("The device already exists") //nolint:staticcheck // lxc's wording
	}
	kv, err := pairs(opts.Args[2:])
	if err != nil {
		return err
	}
	kv["type"] = typ
	t.devices()[name] = kv
	if err := t.save(ctx); err != nil {
		return err
	}
	return opts.say("Device %s added to %s", name, t.name)
}

// RunDeviceRemove removes the devices Args names, all or none.
func RunDeviceRemove(ctx context.Context, opts *DeviceOptions) error {
	t, err := opts.load(ctx, opts.Kind)
	if err != nil {
		return err
	}
	for _, name := range opts.Args {
		if _, ok := t.devices()[name]; !ok {
			return t.missing(name)
		}
		delete(t.devices(), name)
	}
	if err := t.save(ctx); err != nil {
		return err
	}
	for _, name := range opts.Args {
		if err := opts.say("Device %s removed from %s", name, t.name); err != nil {
			return err
		}
	}
	return nil
}

// RunDeviceList prints the target's own devices, one a line.
func RunDeviceList(ctx context.Context, opts *DeviceOptions) error {
	t, err := opts.load(ctx, opts.Kind)
	if err != nil {
		return err
	}
	for _, n := range slices.Sorted(maps.Keys(t.devices())) {
		if err := opts.say("%s", n); err != nil {
			return err
		}
	}
	return nil
}

// RunDeviceShow prints the target's own devices as YAML.
func RunDeviceShow(ctx context.Context, opts *DeviceOptions) error {
	t, err := opts.load(ctx, opts.Kind)
	if err != nil {
		return err
	}
	return output.PrintYAML(opts.IO.Out, t.devices())
}

// RunDeviceGet prints key Args[1] of device Args[0].
func RunDeviceGet(ctx context.Context, opts *DeviceOptions) error {
	t, err := opts.load(ctx, opts.Kind)
	if err != nil {
		return err
	}
	dev, err := t.device(opts.Args[0])
	if err != nil {
		return err
	}
	return opts.say("%s", dev[opts.Args[1]])
}

// RunDeviceSet sets keys of device Args[0].
func RunDeviceSet(ctx context.Context, opts *DeviceOptions) error {
	return changeDevice(ctx, opts, func(dev map[string]string) error {
		kv, err := keyValues(opts.Args[1:])
		if err != nil {
			return err
		}
		for k, v := range kv {
			dev[k] = v
		}
		return nil
	})
}

// RunDeviceUnset removes key Args[1] of device Args[0].
func RunDeviceUnset(ctx context.Context, opts *DeviceOptions) error {
	return changeDevice(ctx, opts, func(dev map[string]string) error {
		delete(dev, opts.Args[1])
		return nil
	})
}

// changeDevice applies change to a copy of device Args[0], which becomes the target's own,
// and saves the target.
func changeDevice(ctx context.Context, opts *DeviceOptions, change func(dev map[string]string) error) error {
	t, err := opts.load(ctx, opts.Kind)
	if err != nil {
		return err
	}
	dev, err := t.device(opts.Args[0])
	if err != nil {
		return err
	}
	if err := change(dev); err != nil {
		return err
	}
	t.devices()[opts.Args[0]] = dev
	return t.save(ctx)
}

// pairs reads KEY=VALUE arguments.
func pairs(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := cutPair(a)
		if !ok {
			return nil, fmt.Errorf("invalid argument %q: want KEY=VALUE", a)
		}
		out[k] = v
	}
	return out, nil
}

// device returns a copy of a device to change: the target's own, or (for an instance) one it
// gets from a profile, which then becomes its own with the change, as lxc does.
func (t *target) device(name string) (map[string]string, error) {
	src, ok := t.devices()[name]
	if !ok && t.inst != nil {
		src, ok = t.inst.ExpandedDevices[name]
	}
	if !ok {
		return nil, t.missing(name)
	}
	dev := make(map[string]string, len(src))
	for k, v := range src {
		dev[k] = v
	}
	return dev, nil
}

// missing is the error for a device the target does not have.
func (t *target) missing(name string) error {
	if t.inst != nil {
		if _, ok := t.inst.ExpandedDevices[name]; ok {
			return fmt.Errorf("device %q comes from a profile of %s: change the profile, or mask it with: lite config device add %s %s none", name, t.name, t.name, name)
		}
	}
	return fmt.Errorf("device %q does not exist on %s", name, t.name)
}
