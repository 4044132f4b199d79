// Package device holds `lite config device add|remove|list|show`: an instance's own devices.
package device

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
)

// Client is the part of the API these commands use; *client.Client satisfies it.
type Client interface {
	GetInstance(name string) (*api.InstanceFull, error)
	UpdateInstance(name string, req api.InstancePut) (*client.Operation, error)
}

// Options are the device commands' I/O and client.
type Options struct {
	IO     *cli.IOStreams
	Client func() (Client, error)
}

// FromFactory adapts the CLI's factory: its client is the full one, which has these methods.
func FromFactory(f *cli.Factory) *Options {
	return &Options{IO: f.IO, Client: func() (Client, error) {
		c, err := f.Client()
		if err != nil {
			return nil, err
		}
		dc, ok := c.(Client)
		if !ok {
			return nil, fmt.Errorf("this client cannot change devices")
		}
		return dc, nil
	}}
}

// NewCmdConfig returns `lite config` with its `device` group.
func NewCmdConfig(opts *Options) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Manage instance configuration", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	dev := &cobra.Command{Use: "device", Short: "Manage an instance's devices", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	dev.AddCommand(
		&cobra.Command{Use: "add INSTANCE DEVICE TYPE [key=value...]", Short: "Add a device to an instance",
			Example: "  lite config device add web1 http proxy listen=tcp:127.0.0.1:8080 connect=tcp:127.0.0.1:80\n" +
				"  lite config device add web1 eth0 nic network=litebr0 ipv4.address=10.0.3.50",
			Args: cli.MinArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				return RunAdd(cmd.Context(), opts, args[0], args[1], args[2], args[3:])
			}},
		&cobra.Command{Use: "remove INSTANCE DEVICE...", Aliases: []string{"rm"}, Short: "Remove devices from an instance", Args: cli.MinArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return RunRemove(cmd.Context(), opts, args[0], args[1:])
			}},
		&cobra.Command{Use: "set INSTANCE DEVICE key=value...", Short: "Change keys of a device (a profile's device gets an instance copy)", Args: cli.MinArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				return RunSet(cmd.Context(), opts, args[0], args[1], args[2:])
			}},
		&cobra.Command{Use: "show INSTANCE", Short: "Show an instance's own devices", Args: cli.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error { return RunShow(cmd.Context(), opts, args[0]) }},
	)
	cmd.AddCommand(dev)
	return cmd
}

// RunAdd adds a device of type typ with key=value settings.
func RunAdd(ctx context.Context, opts *Options, inst, name, typ string, args []string) error {
	dev := map[string]string{"type": typ}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not key=value: %w", a, api.ErrInvalid)
		}
		if k == "type" {
			return fmt.Errorf("give the type as the third argument, not as type=: %w", api.ErrInvalid)
		}
		dev[k] = v
	}
	return update(ctx, opts, inst, func(devs, _ map[string]map[string]string) error {
		if _, ok := devs[name]; ok {
			return fmt.Errorf("instance %s already has a device %q: %w", inst, name, api.ErrAlreadyExists)
		}
		devs[name] = dev
		return nil
	}, fmt.Sprintf("Device %s added to %s\n", name, inst))
}

// RunSet changes keys of a device; an empty value unsets one. A device the instance has from
// a profile is copied into the instance's own devices first, as LXD does.
func RunSet(ctx context.Context, opts *Options, inst, name string, args []string) error {
	kv := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" || k == "type" {
			return fmt.Errorf("%q is not key=value (and type cannot change): %w", a, api.ErrInvalid)
		}
		kv[k] = v
	}
	return update(ctx, opts, inst, func(devs, expanded map[string]map[string]string) error {
		dev, ok := devs[name]
		if !ok {
			if dev, ok = expanded[name]; !ok {
				return fmt.Errorf("instance %s has no device %q: %w", inst, name, api.ErrNotFound)
			}
		}
		dev = maps.Clone(dev)
		for k, v := range kv {
			if v == "" {
				delete(dev, k)
			} else {
				dev[k] = v
			}
		}
		devs[name] = dev
		return nil
	}, fmt.Sprintf("Device %s of %s changed\n", name, inst))
}

// RunRemove removes devices the instance itself has (not those of its profiles).
func RunRemove(ctx context.Context, opts *Options, inst string, names []string) error {
	return update(ctx, opts, inst, func(devs, _ map[string]map[string]string) error {
		for _, n := range names {
			if _, ok := devs[n]; !ok {
				return fmt.Errorf("instance %s has no device %q of its own (devices of profiles are changed in the profile): %w", inst, n, api.ErrNotFound)
			}
			delete(devs, n)
		}
		return nil
	}, fmt.Sprintf("Device %s removed from %s\n", strings.Join(names, ", "), inst))
}

func update(ctx context.Context, opts *Options, inst string, change func(own, expanded map[string]map[string]string) error, done string) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	i, err := c.GetInstance(inst)
	if err != nil {
		return err
	}
	devs := maps.Clone(i.Devices)
	if devs == nil {
		devs = map[string]map[string]string{}
	}
	if err := change(devs, i.ExpandedDevices); err != nil {
		return err
	}
	put := i.InstancePut
	put.Devices = devs
	op, err := c.UpdateInstance(inst, put)
	if err != nil {
		return err
	}
	if err := op.Wait(ctx); err != nil {
		return err
	}
	fmt.Fprint(opts.IO.Out, done)
	return nil
}

// RunShow prints the instance's own devices as YAML.
func RunShow(_ context.Context, opts *Options, inst string) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	i, err := c.GetInstance(inst)
	if err != nil {
		return err
	}
	return output.PrintYAML(opts.IO.Out, i.Devices)
}
