package config

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
)

// loader loads the target a command names (an instance or a profile).
type loader func(ctx context.Context, c Client, name string) (*target, error)

// deviceCmds builds the `device` subcommands for one kind of target.
type deviceCmds struct {
	f    *cli.Factory
	up   string // INSTANCE or PROFILE, for the usage lines
	load loader
}

// newCmdDevice returns the `device` group for a target kind ("instance" or "profile").
func newCmdDevice(f *cli.Factory, what string, load loader) *cobra.Command {
	d := deviceCmds{f: f, up: "[REMOTE:]INSTANCE", load: load}
	if what == "profile" {
		d.up = "[REMOTE:]PROFILE"
	}
	cmd := &cobra.Command{Use: "device", Short: "Manage devices of a " + what, Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.AddCommand(d.add(), d.remove(), d.list(), d.show(), d.get(), d.set(), d.unset())
	return cmd
}

// cmd returns a subcommand whose first argument names the target, loaded before fn runs.
func (d deviceCmds) cmd(use, short string, args cobra.PositionalArgs, fn func(cmd *cobra.Command, t *target, args []string) error) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: args, RunE: func(cmd *cobra.Command, args []string) error {
		c, args, err := connectFor(d.f, args)
		if err != nil {
			return err
		}
		t, err := d.load(cmd.Context(), c, args[0])
		if err != nil {
			return err
		}
		return fn(cmd, t, args[1:])
	}}
}

func (d deviceCmds) say(format string, a ...any) error {
	_, err := fmt.Fprintf(d.f.IO.Out, format+"\n", a...)
	return err
}

func (d deviceCmds) add() *cobra.Command {
	return d.cmd("add "+d.up+" DEVICE TYPE [KEY=VALUE...]", "Add a device", cli.MinArgs(3), func(cmd *cobra.Command, t *target, args []string) error {
		name, typ := args[0], args[1]
		if _, ok := t.devices()[name]; ok {
			return fmt.Errorf("The device already exists") //nolint:staticcheck // lxc's wording
		}
		kv, err := pairs(args[2:])
		if err != nil {
			return err
		}
		kv["type"] = typ
		t.devices()[name] = kv
		if err := t.save(cmd.Context()); err != nil {
			return err
		}
		return d.say("Device %s added to %s", name, t.name)
	})
}

func (d deviceCmds) remove() *cobra.Command {
	return d.cmd("remove "+d.up+" DEVICE...", "Remove devices", cli.MinArgs(2), func(cmd *cobra.Command, t *target, args []string) error {
		for _, name := range args {
			if _, ok := t.devices()[name]; !ok {
				return t.missing(name)
			}
			delete(t.devices(), name)
		}
		if err := t.save(cmd.Context()); err != nil {
			return err
		}
		for _, name := range args {
			if err := d.say("Device %s removed from %s", name, t.name); err != nil {
				return err
			}
		}
		return nil
	})
}

func (d deviceCmds) list() *cobra.Command {
	return d.cmd("list "+d.up, "List devices", cli.ExactArgs(1), func(_ *cobra.Command, t *target, _ []string) error {
		for _, n := range sortedKeys(t.devices()) {
			if err := d.say("%s", n); err != nil {
				return err
			}
		}
		return nil
	})
}

func (d deviceCmds) show() *cobra.Command {
	return d.cmd("show "+d.up, "Show devices as YAML", cli.ExactArgs(1), func(_ *cobra.Command, t *target, _ []string) error {
		return output.PrintYAML(d.f.IO.Out, t.devices())
	})
}

func (d deviceCmds) get() *cobra.Command {
	return d.cmd("get "+d.up+" DEVICE KEY", "Get a device key", cli.ExactArgs(3), func(_ *cobra.Command, t *target, args []string) error {
		dev, err := t.device(args[0])
		if err != nil {
			return err
		}
		return d.say("%s", dev[args[1]])
	})
}

func (d deviceCmds) set() *cobra.Command {
	return d.cmd("set "+d.up+" DEVICE KEY=VALUE...", "Set device keys", cli.MinArgs(3), func(cmd *cobra.Command, t *target, args []string) error {
		dev, err := t.device(args[0])
		if err != nil {
			return err
		}
		kv, err := keyValues(args[1:])
		if err != nil {
			return err
		}
		for k, v := range kv {
			dev[k] = v
		}
		t.devices()[args[0]] = dev
		return t.save(cmd.Context())
	})
}

func (d deviceCmds) unset() *cobra.Command {
	return d.cmd("unset "+d.up+" DEVICE KEY", "Unset a device key", cli.ExactArgs(3), func(cmd *cobra.Command, t *target, args []string) error {
		dev, err := t.device(args[0])
		if err != nil {
			return err
		}
		delete(dev, args[1])
		t.devices()[args[0]] = dev
		return t.save(cmd.Context())
	})
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
