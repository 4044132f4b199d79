// Package network holds the lite network commands: list, show, create, get, set, unset,
// delete, rename and info.
package network

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
)

// Client is the part of the API the network commands use; *client.Client satisfies it.
type Client interface {
	GetNetworks(ctx context.Context) ([]api.Network, error)
	GetNetwork(ctx context.Context, name string) (*api.Network, error)
	GetNetworkState(ctx context.Context, name string) (*api.NetworkState, error)
	CreateNetwork(ctx context.Context, req api.NetworksPost) error
	UpdateNetwork(ctx context.Context, name string, put api.NetworkPut) error
	RenameNetwork(ctx context.Context, name string, req api.NetworkPost) error
	DeleteNetwork(ctx context.Context, name string) error
	GetNetworkLeases(ctx context.Context, name string) ([]api.NetworkLease, error)
}

var _ Client = (*client.Client)(nil)

// clientFor returns the API client for the server ref names ("host2:net0" or "net0") as a
// Client, and the name without its remote.
func clientFor(f *cli.Factory, ref string) (func() (Client, error), string) {
	get, name := f.APIFor(ref)
	return func() (Client, error) { return get() }, name
}

// base are the inputs every network command has: its I/O, its client and the network.
type base struct {
	IO     *cli.IOStreams
	Client func() (Client, error)
	Name   string
}

// newCmd completes cmd, a network command on the network named by its first argument (a
// remote's network with "REMOTE:NAME"): bind fills the rest of the options from the
// arguments, then run (or runF, in tests) runs. It returns the command and its options.
func newCmd[O any](f *cli.Factory, b func(*O) *base, runF, run func(context.Context, *O) error, cmd *cobra.Command, bind func(*O, []string)) (*cobra.Command, *O) {
	opts := new(O)
	b(opts).IO = f.IO
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		bo := b(opts)
		bo.Client, bo.Name = clientFor(f, args[0])
		if bind != nil {
			bind(opts, args)
		}
		if runF != nil {
			return runF(cmd.Context(), opts)
		}
		return run(cmd.Context(), opts)
	}
	return cmd, opts
}

// NewCmdNetwork returns the `lite network` command group.
func NewCmdNetwork(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Manage networks",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(NewCmdList(f, nil), NewCmdCreate(f, nil), NewCmdLeases(f, nil), NewCmdShow(f, nil), NewCmdInfo(f, nil),
		NewCmdGet(f, nil), NewCmdSet(f, nil), NewCmdUnset(f, nil), NewCmdRename(f, nil), NewCmdDelete(f, nil))
	return cmd
}

// ListOptions are the inputs of lite network list (Name is unused: it lists a server).
type ListOptions struct {
	base
	Format output.Format
}

// NewCmdList returns `lite network list [SERVER:]`; runF replaces RunList in tests.
func NewCmdList(f *cli.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{base: base{IO: f.IO}}
	cmd := &cobra.Command{Use: "list [SERVER:]", Aliases: []string{"ls"}, Short: "List networks", Args: cli.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Client, opts.Name = clientFor(f, "")
			if len(args) == 1 {
				if opts.Client, opts.Name = clientFor(f, args[0]); opts.Name != "" && args[0] != "local:" {
					return fmt.Errorf("lite network list takes a server (REMOTE:), not %q: %w", args[0], api.ErrInvalid)
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunList(cmd.Context(), opts)
		}}
	output.AddFormatFlag(cmd, &opts.Format)
	return cmd
}

// LeasesOptions are the inputs of lite network list-leases.
type LeasesOptions struct {
	base
	Format output.Format
}

// NewCmdLeases returns `lite network list-leases NAME`; runF replaces RunLeases in tests.
func NewCmdLeases(f *cli.Factory, runF func(context.Context, *LeasesOptions) error) *cobra.Command {
	cmd, opts := newCmd(f, func(o *LeasesOptions) *base { return &o.base }, runF, RunLeases,
		&cobra.Command{Use: "list-leases NAME", Short: "List a network's DHCP leases and reservations", Args: cli.ExactArgs(1)}, nil)
	output.AddFormatFlag(cmd, &opts.Format)
	return cmd
}

// CreateOptions are the inputs of lite network create.
type CreateOptions struct {
	base
	Description string
	Config      []string // key=value
}

// NewCmdCreate returns `lite network create NAME [key=value...]`; runF replaces RunCreate in
// tests.
func NewCmdCreate(f *cli.Factory, runF func(context.Context, *CreateOptions) error) *cobra.Command {
	cmd, opts := newCmd(f, func(o *CreateOptions) *base { return &o.base }, runF, RunCreate,
		&cobra.Command{Use: "create NAME [key=value...]", Short: "Create a managed bridge network", Args: cli.MinArgs(1)},
		func(o *CreateOptions, args []string) { o.Config = args[1:] })
	cmd.Flags().StringVar(&opts.Description, "description", "", "network description")
	return cmd
}

// ShowOptions are the inputs of lite network show.
type ShowOptions struct{ base }

// NewCmdShow returns `lite network show NAME`; runF replaces RunShow in tests.
func NewCmdShow(f *cli.Factory, runF func(context.Context, *ShowOptions) error) *cobra.Command {
	cmd, _ := newCmd(f, func(o *ShowOptions) *base { return &o.base }, runF, RunShow,
		&cobra.Command{Use: "show NAME", Short: "Show a network's configuration", Args: cli.ExactArgs(1)}, nil)
	return cmd
}

// InfoOptions are the inputs of lite network info.
type InfoOptions struct{ base }

// NewCmdInfo returns `lite network info NAME`; runF replaces RunInfo in tests.
func NewCmdInfo(f *cli.Factory, runF func(context.Context, *InfoOptions) error) *cobra.Command {
	cmd, _ := newCmd(f, func(o *InfoOptions) *base { return &o.base }, runF, RunInfo,
		&cobra.Command{Use: "info NAME", Short: "Show a network's bridge state", Args: cli.ExactArgs(1)}, nil)
	return cmd
}

// GetOptions are the inputs of lite network get.
type GetOptions struct {
	base
	Key string
}

// NewCmdGet returns `lite network get NAME KEY`; runF replaces RunGet in tests.
func NewCmdGet(f *cli.Factory, runF func(context.Context, *GetOptions) error) *cobra.Command {
	cmd, _ := newCmd(f, func(o *GetOptions) *base { return &o.base }, runF, RunGet,
		&cobra.Command{Use: "get NAME KEY", Short: "Get a network config key", Args: cli.ExactArgs(2)},
		func(o *GetOptions, args []string) { o.Key = args[1] })
	return cmd
}

// RunGet prints one config key's value (an empty line when it is not set, as lxc does).
func RunGet(ctx context.Context, opts *GetOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	n, err := c.GetNetwork(ctx, opts.Name)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(opts.IO.Out, n.Config[opts.Key])
	return err
}

// SetOptions are the inputs of lite network set and unset.
type SetOptions struct {
	base
	Args []string // KEY VALUE, or KEY=VALUE...; an empty value unsets
}

// NewCmdSet returns `lite network set NAME KEY VALUE | NAME KEY=VALUE...`; runF replaces
// RunSet in tests.
func NewCmdSet(f *cli.Factory, runF func(context.Context, *SetOptions) error) *cobra.Command {
	cmd, _ := newCmd(f, func(o *SetOptions) *base { return &o.base }, runF, RunSet,
		&cobra.Command{Use: "set NAME KEY VALUE | NAME KEY=VALUE...", Short: "Set network config keys", Args: cli.MinArgs(2)},
		func(o *SetOptions, args []string) { o.Args = args[1:] })
	return cmd
}

// NewCmdUnset returns `lite network unset NAME KEY`; runF replaces RunSet in tests.
func NewCmdUnset(f *cli.Factory, runF func(context.Context, *SetOptions) error) *cobra.Command {
	cmd, _ := newCmd(f, func(o *SetOptions) *base { return &o.base }, runF, RunSet,
		&cobra.Command{Use: "unset NAME KEY", Short: "Unset a network config key", Args: cli.ExactArgs(2)},
		func(o *SetOptions, args []string) { o.Args = []string{args[1] + "="} })
	return cmd
}

// RenameOptions are the inputs of lite network rename.
type RenameOptions struct {
	base
	New string
}

// NewCmdRename returns `lite network rename NAME NEW`; runF replaces RunRename in tests.
func NewCmdRename(f *cli.Factory, runF func(context.Context, *RenameOptions) error) *cobra.Command {
	cmd, _ := newCmd(f, func(o *RenameOptions) *base { return &o.base }, runF, RunRename,
		&cobra.Command{Use: "rename NAME NEW", Short: "Rename a network", Args: cli.ExactArgs(2)},
		func(o *RenameOptions, args []string) { o.New = args[1] })
	return cmd
}

// DeleteOptions are the inputs of lite network delete.
type DeleteOptions struct{ base }

// NewCmdDelete returns `lite network delete NAME`; runF replaces RunDelete in tests.
func NewCmdDelete(f *cli.Factory, runF func(context.Context, *DeleteOptions) error) *cobra.Command {
	cmd, _ := newCmd(f, func(o *DeleteOptions) *base { return &o.base }, runF, RunDelete,
		&cobra.Command{Use: "delete NAME", Aliases: []string{"rm"}, Short: "Delete a network", Args: cli.ExactArgs(1)}, nil)
	return cmd
}

// RunList prints the networks like lxc network list.
func RunList(ctx context.Context, opts *ListOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	list, err := c.GetNetworks(ctx)
	if err != nil {
		return err
	}
	data := output.Data{Header: []string{"NAME", "TYPE", "MANAGED", "IPV4", "IPV6", "DESCRIPTION", "USED BY", "STATE"}, Raw: list}
	for _, n := range list {
		managed := "NO"
		if n.Managed {
			managed = "YES"
		}
		data.Rows = append(data.Rows, []string{n.Name, n.Type, managed, n.Config["ipv4.address"], n.Config["ipv6.address"],
			n.Description, strconv.Itoa(len(n.UsedBy)), strings.ToUpper(n.Status)})
	}
	return output.Print(opts.IO.Out, opts.Format, data)
}

// RunLeases prints a network's leases like lxc network list-leases.
func RunLeases(ctx context.Context, opts *LeasesOptions) error {
	name := opts.Name
	c, err := opts.Client()
	if err != nil {
		return err
	}
	leases, err := c.GetNetworkLeases(ctx, name)
	if err != nil {
		return err
	}
	data := output.Data{Header: []string{"HOSTNAME", "MAC ADDRESS", "IP ADDRESS", "TYPE"}, Raw: leases}
	for _, l := range leases {
		data.Rows = append(data.Rows, []string{l.Hostname, l.Hwaddr, l.Address, strings.ToUpper(l.Type)})
	}
	return output.Print(opts.IO.Out, opts.Format, data)
}

// RunShow prints a network as YAML.
func RunShow(ctx context.Context, opts *ShowOptions) error {
	name := opts.Name
	c, err := opts.Client()
	if err != nil {
		return err
	}
	n, err := c.GetNetwork(ctx, name)
	if err != nil {
		return err
	}
	return output.PrintYAML(opts.IO.Out, n)
}

// RunInfo prints the bridge's live state.
func RunInfo(ctx context.Context, opts *InfoOptions) error {
	name := opts.Name
	c, err := opts.Client()
	if err != nil {
		return err
	}
	st, err := c.GetNetworkState(ctx, name)
	if err != nil {
		return err
	}
	w := opts.IO.Out
	fmt.Fprintf(w, "Name: %s\nMAC address: %s\nMTU: %d\nState: %s\nType: %s\n\nIP addresses:\n", name, st.Hwaddr, st.Mtu, st.State, st.Type)
	for _, a := range st.Addresses {
		fmt.Fprintf(w, "  %s\t%s/%s (%s)\n", a.Family, a.Address, a.Netmask, a.Scope)
	}
	fmt.Fprintf(w, "\nNetwork usage:\n  Bytes received: %d\n  Bytes sent: %d\n  Packets received: %d\n  Packets sent: %d\n",
		st.Counters.BytesReceived, st.Counters.BytesSent, st.Counters.PacketsReceived, st.Counters.PacketsSent)
	return nil
}

// parseKV reads key=value arguments.
func parseKV(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value: %w", a, api.ErrInvalid)
		}
		out[k] = v
	}
	return out, nil
}

// RunCreate creates a network with key=value config.
func RunCreate(ctx context.Context, opts *CreateOptions) error {
	name, desc := opts.Name, opts.Description
	cfg, err := parseKV(opts.Config)
	if err != nil {
		return err
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if err := c.CreateNetwork(ctx, api.NetworksPost{Name: name, Type: "bridge", NetworkPut: api.NetworkPut{Config: cfg, Description: desc}}); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Network %s created\n", name)
	return nil
}

// RunSet sets keys ("KEY VALUE" or "KEY=VALUE..."); an empty value unsets.
func RunSet(ctx context.Context, opts *SetOptions) error {
	name, args := opts.Name, opts.Args
	var kv map[string]string
	if len(args) == 2 && !strings.Contains(args[0], "=") {
		kv = map[string]string{args[0]: args[1]}
	} else {
		var err error
		if kv, err = parseKV(args); err != nil {
			return err
		}
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	n, err := c.GetNetwork(ctx, name)
	if err != nil {
		return err
	}
	cfg := maps.Clone(n.Config)
	if cfg == nil {
		cfg = map[string]string{}
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if kv[k] == "" {
			if _, ok := cfg[k]; !ok {
				return fmt.Errorf("network %s has no key %q to unset: %w", name, k, api.ErrInvalid)
			}
			delete(cfg, k)
		} else {
			cfg[k] = kv[k]
		}
	}
	return c.UpdateNetwork(ctx, name, api.NetworkPut{Config: cfg, Description: n.Description})
}

// RunRename renames a network.
func RunRename(ctx context.Context, opts *RenameOptions) error {
	name, to := opts.Name, opts.New
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if err := c.RenameNetwork(ctx, name, api.NetworkPost{Name: to}); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Network %s renamed to %s\n", name, to)
	return nil
}

// RunDelete deletes a network.
func RunDelete(ctx context.Context, opts *DeleteOptions) error {
	name := opts.Name
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if err := c.DeleteNetwork(ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Network %s deleted\n", name)
	return nil
}
