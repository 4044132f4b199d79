// Package network holds the lite network commands: list, show, create, set, unset, delete,
// rename and info.
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

// Options are what every network command gets: its I/O and its client.
type Options struct {
	IO     *cli.IOStreams
	Client func() (Client, error)
	// On, when set, returns the options for the server a "REMOTE:NAME" reference names and
	// the name without its remote.
	On func(ref string) (*Options, string)
}

var _ Client = (*client.Client)(nil)

// FromFactory takes the factory's typed API client (for "REMOTE:NAME" references too).
func FromFactory(f *cli.Factory) *Options {
	with := func(get func() (*client.Client, error)) func() (Client, error) {
		return func() (Client, error) { return get() }
	}
	return &Options{IO: f.IO, Client: with(f.API), On: func(ref string) (*Options, string) {
		get, name := f.APIFor(ref)
		return &Options{IO: f.IO, Client: with(get)}, name
	}}
}

// on returns the options and name for ref ("host2:net0" or "net0").
func (o *Options) on(ref string) (*Options, string) {
	if o.On == nil {
		return o, ref
	}
	return o.On(ref)
}

// NewCmdNetwork returns the `lite network` command group.
func NewCmdNetwork(opts *Options) *cobra.Command {
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
	var format output.Format
	list := &cobra.Command{Use: "list [SERVER:]", Aliases: []string{"ls"}, Short: "List networks", Args: cli.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := opts
			if len(args) == 1 {
				var rest string
				if o, rest = opts.on(args[0]); rest != "" && args[0] != "local:" {
					return fmt.Errorf("lite network list takes a server (REMOTE:), not %q: %w", args[0], api.ErrInvalid)
				}
			}
			return RunList(cmd.Context(), o, format)
		}}
	output.AddFormatFlag(list, &format)
	var leaseFormat output.Format
	leases := &cobra.Command{Use: "list-leases NAME", Short: "List a network's DHCP leases and reservations", Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, name := opts.on(args[0])
			return RunLeases(cmd.Context(), o, name, leaseFormat)
		}}
	output.AddFormatFlag(leases, &leaseFormat)
	var desc string
	create := &cobra.Command{Use: "create NAME [key=value...]", Short: "Create a managed bridge network", Args: cli.MinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, name := opts.on(args[0])
			return RunCreate(cmd.Context(), o, name, desc, args[1:])
		}}
	create.Flags().StringVar(&desc, "description", "", "network description")
	cmd.AddCommand(list, create, leases,
		&cobra.Command{Use: "show NAME", Short: "Show a network's configuration", Args: cli.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				o, n := opts.on(args[0])
				return RunShow(cmd.Context(), o, n)
			}},
		&cobra.Command{Use: "info NAME", Short: "Show a network's bridge state", Args: cli.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				o, n := opts.on(args[0])
				return RunInfo(cmd.Context(), o, n)
			}},
		&cobra.Command{Use: "set NAME KEY VALUE | NAME KEY=VALUE...", Short: "Set network config keys", Args: cli.MinArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				o, n := opts.on(args[0])
				return RunSet(cmd.Context(), o, n, args[1:])
			}},
		&cobra.Command{Use: "unset NAME KEY", Short: "Unset a network config key", Args: cli.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				o, n := opts.on(args[0])
				return RunSet(cmd.Context(), o, n, []string{args[1] + "="})
			}},
		&cobra.Command{Use: "rename NAME NEW", Short: "Rename a network", Args: cli.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error { return RunRename(cmd.Context(), opts, args[0], args[1]) }},
		&cobra.Command{Use: "delete NAME", Aliases: []string{"rm"}, Short: "Delete a network", Args: cli.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				o, n := opts.on(args[0])
				return RunDelete(cmd.Context(), o, n)
			}},
	)
	return cmd
}

// RunList prints the networks like lxc network list.
func RunList(ctx context.Context, opts *Options, format output.Format) error {
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
	return output.Print(opts.IO.Out, format, data)
}

// RunLeases prints a network's leases like lxc network list-leases.
func RunLeases(ctx context.Context, opts *Options, name string, format output.Format) error {
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
	return output.Print(opts.IO.Out, format, data)
}

// RunShow prints a network as YAML.
func RunShow(ctx context.Context, opts *Options, name string) error {
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
func RunInfo(ctx context.Context, opts *Options, name string) error {
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
func RunCreate(ctx context.Context, opts *Options, name, desc string, args []string) error {
	cfg, err := parseKV(args)
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
func RunSet(ctx context.Context, opts *Options, name string, args []string) error {
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
func RunRename(ctx context.Context, opts *Options, name, to string) error {
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
func RunDelete(ctx context.Context, opts *Options, name string) error {
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
