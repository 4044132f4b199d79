package config

import (
	"fmt"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
)

// instanceArgs is how many arguments each verb needs when it names an instance.
var instanceArgs = map[string]int{"get": 2, "show": 1, "set": 2, "unset": 2, "edit": 1}

// NewCmdConfig returns `lite config`: an instance's config keys and devices.
func NewCmdConfig(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Manage server and instance config, devices and trusted clients", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	var expanded bool
	withInstance := func(fn func(cmd *cobra.Command, t *target, args []string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			if isServerCall(args) {
				return runServerConfig(cmd.Context(), f, cmd.Name(), args)
			}
			if min := instanceArgs[cmd.Name()]; len(args) < min {
				return fmt.Errorf("lite config %s INSTANCE needs %d arguments (see --help): %w", cmd.Name(), min, api.ErrInvalid)
			}
			get, name := f.APIFor(args[0])
			c, err := clientOf(get)()
			if err != nil {
				return err
			}
			t, err := loadInstance(cmd.Context(), c, name)
			if err != nil {
				return err
			}
			return fn(cmd, t, args[1:])
		}
	}
	get := &cobra.Command{Use: "get [INSTANCE|REMOTE:] KEY", Short: "Get a config key (of the server when no instance is named)", Args: cli.RangeArgs(1, 2),
		RunE: withInstance(func(_ *cobra.Command, t *target, args []string) error {
			cfg := t.inst.Config
			if expanded {
				cfg = t.inst.ExpandedConfig
			}
			_, err := fmt.Fprintln(f.IO.Out, cfg[args[0]])
			return err
		})}
	get.Flags().BoolVarP(&expanded, "expanded", "e", false, "include the keys from profiles")
	show := &cobra.Command{Use: "show [INSTANCE|REMOTE:]", Short: "Show an instance's (or the server's) config as YAML", Args: cli.RangeArgs(0, 1),
		RunE: withInstance(func(_ *cobra.Command, t *target, _ []string) error {
			put := t.inst.InstancePut
			if expanded {
				put.Config, put.Devices = t.inst.ExpandedConfig, t.inst.ExpandedDevices
			}
			return output.PrintYAML(f.IO.Out, put)
		})}
	show.Flags().BoolVarP(&expanded, "expanded", "e", false, "show the config and devices after profiles")
	set := &cobra.Command{Use: "set [INSTANCE|REMOTE:] KEY=VALUE...", Short: "Set config keys of an instance (applied at once where possible) or of the server",
		Example: "  lite config set web1 limits.memory=512MiB limits.cpu=1\n  lite config set web1 limits.memory 256MiB\n  lite config set core.https_address 127.0.0.1:8443",
		Args:    cli.MinArgs(1),
		RunE: withInstance(func(cmd *cobra.Command, t *target, args []string) error {
			kv, err := keyValues(args)
			if err != nil {
				return err
			}
			for k, v := range kv {
				if err := notVolatile(k); err != nil {
					return err
				}
				t.inst.Config[k] = v
			}
			return t.save(cmd.Context())
		})}
	unset := &cobra.Command{Use: "unset [INSTANCE|REMOTE:] KEY...", Short: "Unset config keys of an instance or of the server", Args: cli.MinArgs(1),
		RunE: withInstance(func(cmd *cobra.Command, t *target, args []string) error {
			for _, k := range args {
				if err := notVolatile(k); err != nil {
					return err
				}
				if _, ok := t.inst.Config[k]; !ok {
					return fmt.Errorf("config key %q is not set on %s", k, t.name)
				}
				delete(t.inst.Config, k)
			}
			return t.save(cmd.Context())
		})}
	editCmd := &cobra.Command{Use: "edit INSTANCE", Short: "Edit an instance's config as YAML ($EDITOR, or stdin when it is not a terminal)", Args: cli.ExactArgs(1),
		RunE: withInstance(func(cmd *cobra.Command, t *target, _ []string) error {
			var put api.InstancePut
			if err := edit(f.IO, t.inst.InstancePut, &put); err != nil {
				return err
			}
			t.inst.InstancePut = put
			return t.save(cmd.Context())
		})}
	cmd.AddCommand(get, show, set, unset, editCmd, newCmdDevice(f, clientOf(f.API), "instance", loadInstance), newCmdTrust(f))
	return cmd
}
