package config

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
	"lite/profiles"
)

// NewCmdConfig returns `lite config`: the config keys and devices of an instance, the
// config of a server, and the clients a server trusts.
func NewCmdConfig(f *cli.Factory) *cobra.Command {
	return group("config", "Manage server and instance config, devices and trusted clients",
		NewCmdGet(f, nil), NewCmdShow(f, nil), NewCmdSet(f, nil), NewCmdUnset(f, nil), NewCmdEdit(f, nil),
		NewCmdDevice(f, Instance), NewCmdTrust(f))
}

// bindTarget points b at the instance args[0] names, or at the server when args name one
// (see isServerCall), and returns the arguments after the instance or server. An instance
// needs min arguments in all (its name included).
func bindTarget(f *cli.Factory, b *base, verb string, min int, args []string) ([]string, error) {
	if isServerCall(args) {
		ref, rest := serverArgs(args)
		b.Client, b.Name = clientFor(f, ref)
		b.Name = ""
		return rest, nil
	}
	if len(args) < min {
		return nil, fmt.Errorf("lite config %s INSTANCE needs %d arguments (see --help): %w", verb, min, api.ErrInvalid)
	}
	return args[1:], nil
}

// GetOptions are the inputs of lite config get.
type GetOptions struct {
	base     // Name "" is the server
	Key      string
	Expanded bool // the instance's config after its profiles
}

// NewCmdGet returns `lite config get [INSTANCE|REMOTE:] KEY`; runF replaces RunGet in tests.
func NewCmdGet(f *cli.Factory, runF func(context.Context, *GetOptions) error) *cobra.Command {
	opts := &GetOptions{}
	cmd := newCmd(f, &opts.base, runner(runF, RunGet, opts),
		&cobra.Command{Use: "get [INSTANCE|REMOTE:] KEY", Short: "Get a config key (of the server when no instance is named)", Args: cli.RangeArgs(1, 2)},
		func(args []string) error {
			rest, err := bindTarget(f, &opts.base, "get", 2, args)
			if err != nil {
				return err
			}
			if len(rest) != 1 {
				return fmt.Errorf("lite config get [REMOTE:] KEY: want one key: %w", api.ErrInvalid)
			}
			opts.Key = rest[0]
			return nil
		})
	cmd.Flags().BoolVarP(&opts.Expanded, "expanded", "e", false, "include the keys from profiles")
	return cmd
}

// RunGet prints the key's value ("" when it is not set).
func RunGet(ctx context.Context, opts *GetOptions) error {
	var cfg map[string]string
	if opts.Name == "" {
		_, c, err := opts.serverConfig(ctx)
		if err != nil {
			return err
		}
		cfg = c
	} else {
		t, err := opts.load(ctx, Instance)
		if err != nil {
			return err
		}
		cfg = t.inst.Config
		if opts.Expanded {
			cfg = t.inst.ExpandedConfig
		}
	}
	return opts.say("%s", cfg[opts.Key])
}

// ShowOptions are the inputs of lite config show.
type ShowOptions struct {
	base     // Name "" is the server
	Expanded bool
}

// NewCmdShow returns `lite config show [INSTANCE|REMOTE:]`; runF replaces RunShow in tests.
func NewCmdShow(f *cli.Factory, runF func(context.Context, *ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{}
	cmd := newCmd(f, &opts.base, runner(runF, RunShow, opts),
		&cobra.Command{Use: "show [INSTANCE|REMOTE:]", Short: "Show an instance's (or the server's) config as YAML", Args: cli.RangeArgs(0, 1)},
		func(args []string) error { _, err := bindTarget(f, &opts.base, "show", 1, args); return err })
	cmd.Flags().BoolVarP(&opts.Expanded, "expanded", "e", false, "show the config and devices after profiles")
	return cmd
}

// RunShow prints the config as YAML: an instance's writable part, or the server's config.
func RunShow(ctx context.Context, opts *ShowOptions) error {
	if opts.Name == "" {
		_, cfg, err := opts.serverConfig(ctx)
		if err != nil {
			return err
		}
		return output.PrintYAML(opts.IO.Out, api.ServerPut{Config: cfg})
	}
	t, err := opts.load(ctx, Instance)
	if err != nil {
		return err
	}
	put := t.inst.InstancePut
	if opts.Expanded {
		put.Config, put.Devices = t.inst.ExpandedConfig, t.inst.ExpandedDevices
	}
	return output.PrintYAML(opts.IO.Out, put)
}

// SetOptions are the inputs of lite config set.
type SetOptions struct {
	base          // Name "" is the server
	Args []string // KEY=VALUE... or KEY VALUE
}

// NewCmdSet returns `lite config set [INSTANCE|REMOTE:] KEY=VALUE...`; runF replaces RunSet
// in tests.
func NewCmdSet(f *cli.Factory, runF func(context.Context, *SetOptions) error) *cobra.Command {
	opts := &SetOptions{}
	return newCmd(f, &opts.base, runner(runF, RunSet, opts),
		&cobra.Command{Use: "set [INSTANCE|REMOTE:] KEY=VALUE...", Short: "Set config keys of an instance (applied at once where possible) or of the server",
			Example: "  lite config set web1 limits.memory=512MiB limits.cpu=1\n  lite config set web1 limits.memory 256MiB\n  lite config set core.https_address 127.0.0.1:8443",
			Args:    cli.MinArgs(1)},
		func(args []string) (err error) {
			opts.Args, err = bindTarget(f, &opts.base, "set", 2, args)
			return err
		})
}

// RunSet sets the keys and writes the config back.
func RunSet(ctx context.Context, opts *SetOptions) error {
	if opts.Name == "" {
		return opts.updateServer(ctx, func(cfg map[string]string) error {
			// The same table the server checks, so a typo is caught before any request.
			return setKeys(cfg, opts.Args, nil, profiles.ValidateServerConfig)
		})
	}
	t, err := opts.load(ctx, Instance)
	if err != nil {
		return err
	}
	if err := setKeys(t.inst.Config, opts.Args, notVolatile, nil); err != nil {
		return err
	}
	return t.save(ctx)
}

// setKeys sets in cfg the keys args give (KEY=VALUE... or KEY VALUE), refusing any key
// checkKey refuses, then the whole config if checkAll refuses it (either may be nil).
func setKeys(cfg map[string]string, args []string, checkKey func(string) error, checkAll func(map[string]string) error) error {
	kv, err := keyValues(args)
	if err != nil {
		return err
	}
	for k, v := range kv {
		if checkKey != nil {
			if err := checkKey(k); err != nil {
				return err
			}
		}
		cfg[k] = v
	}
	if checkAll != nil {
		return checkAll(cfg)
	}
	return nil
}

// UnsetOptions are the inputs of lite config unset.
type UnsetOptions struct {
	base // Name "" is the server
	Keys []string
}

// NewCmdUnset returns `lite config unset [INSTANCE|REMOTE:] KEY...`; runF replaces RunUnset
// in tests.
func NewCmdUnset(f *cli.Factory, runF func(context.Context, *UnsetOptions) error) *cobra.Command {
	opts := &UnsetOptions{}
	return newCmd(f, &opts.base, runner(runF, RunUnset, opts),
		&cobra.Command{Use: "unset [INSTANCE|REMOTE:] KEY...", Short: "Unset config keys of an instance or of the server", Args: cli.MinArgs(1)},
		func(args []string) (err error) {
			if opts.Keys, err = bindTarget(f, &opts.base, "unset", 2, args); err == nil && len(opts.Keys) == 0 {
				err = fmt.Errorf("lite config unset [REMOTE:] KEY...: name a key: %w", api.ErrInvalid)
			}
			return err
		})
}

// RunUnset removes the keys, each of which must be set, and writes the config back.
func RunUnset(ctx context.Context, opts *UnsetOptions) error {
	if opts.Name == "" {
		return opts.updateServer(ctx, func(cfg map[string]string) error {
			for _, k := range opts.Keys {
				if _, ok := cfg[k]; !ok {
					return fmt.Errorf("server config key %q is not set: %w", k, api.ErrInvalid)
				}
				delete(cfg, k)
			}
			return nil
		})
	}
	t, err := opts.load(ctx, Instance)
	if err != nil {
		return err
	}
	for _, k := range opts.Keys {
		if err := notVolatile(k); err != nil {
			return err
		}
		if _, ok := t.inst.Config[k]; !ok {
			return fmt.Errorf("config key %q is not set on %s", k, t.name)
		}
		delete(t.inst.Config, k)
	}
	return t.save(ctx)
}

// EditOptions are the inputs of lite config edit.
type EditOptions struct {
	base // Name "" is the server
}

// NewCmdEdit returns `lite config edit INSTANCE|REMOTE:`; runF replaces RunEdit in tests.
func NewCmdEdit(f *cli.Factory, runF func(context.Context, *EditOptions) error) *cobra.Command {
	opts := &EditOptions{}
	return newCmd(f, &opts.base, runner(runF, RunEdit, opts),
		&cobra.Command{Use: "edit INSTANCE|REMOTE:", Short: "Edit an instance's (or a server's) config as YAML ($EDITOR, or stdin when it is not a terminal)", Args: cli.ExactArgs(1)},
		func(args []string) error { _, err := bindTarget(f, &opts.base, "edit", 1, args); return err })
}

// RunEdit replaces the writable part of the instance (or the server's config) with the
// user's edit of it.
func RunEdit(ctx context.Context, opts *EditOptions) error {
	if opts.Name == "" {
		return opts.updateServer(ctx, func(cfg map[string]string) error {
			put := api.ServerPut{Config: cfg}
			if err := editPart(opts.IO, &put); err != nil {
				return err
			}
			clear(cfg)
			for k, v := range put.Config {
				cfg[k] = v
			}
			return profiles.ValidateServerConfig(cfg)
		})
	}
	t, err := opts.load(ctx, Instance)
	if err != nil {
		return err
	}
	return t.editAndSave(ctx)
}
