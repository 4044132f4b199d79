// Package cluster holds `lite cluster enable|add|join|list|show|remove`: a lited becomes the
// first member of a cluster, prints join tokens for new members, joins one, and lists,
// shows and removes members. Each command is an options struct, a NewCmdX(f, runF) and a
// RunX, as in the other command packages.
package cluster

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/api"
	"lite/client/trust"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
	"lite/cmd/internal/progress"
)

// Client is the part of the API these commands use; *client.Client satisfies it.
type Client interface {
	GetCluster(ctx context.Context) (*api.Cluster, error)
	UpdateCluster(ctx context.Context, put api.ClusterPut) (*client.Operation, error)
	GetClusterMembers(ctx context.Context) ([]api.ClusterMember, error)
	GetClusterMember(ctx context.Context, name string) (*api.ClusterMember, error)
	CreateClusterMemberToken(ctx context.Context, name string) (*client.Operation, error)
	DeleteClusterMember(ctx context.Context, name string, force bool) error
}

var _ Client = (*client.Client)(nil)

// Options are what every cluster command has: its I/O, the client of the server its
// first argument names ("REMOTE:NAME" for another server's) and that argument without the
// remote.
type Options struct {
	IO     *cli.IOStreams
	Client func() (Client, error)
	Arg    string
	// DatabaseAddress (enable, join): where this member's dqlite node listens.
	DatabaseAddress string
	// Name (join): the member name, when given besides the token's.
	Name   string
	Force  bool          // remove
	Format output.Format // list
}

// NewCmdCluster returns `lite cluster`.
func NewCmdCluster(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Manage the cluster: enable it, add, join, list and remove members", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.AddCommand(NewCmdEnable(f, nil), NewCmdAdd(f, nil), NewCmdJoin(f, nil), NewCmdList(f, nil), NewCmdShow(f, nil), NewCmdRemove(f, nil))
	return cmd
}

// newCmd completes cmd: the first argument (if any) picks the server, then run runs.
func newCmd(f *cli.Factory, opts *Options, runF, run func(context.Context, *Options) error, cmd *cobra.Command) *cobra.Command {
	opts.IO = f.IO
	if runF != nil {
		run = runF
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ref := ""
		if len(args) > 0 {
			ref = args[0]
		}
		get, rest := f.APIFor(ref)
		opts.Client = func() (Client, error) { return get() }
		opts.Arg = rest
		return run(cmd.Context(), opts)
	}
	return cmd
}

// NewCmdEnable returns `lite cluster enable [REMOTE:]NAME`.
func NewCmdEnable(f *cli.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	cmd := newCmd(f, opts, runF, RunEnable, &cobra.Command{Use: "enable [REMOTE:]NAME",
		Short: "Make this server the first member of a new cluster, called NAME in it (its state moves into dqlite)",
		Long: "The server must serve the API over HTTPS on an address the other members can reach\n" +
			"(lite config set core.https_address HOST:PORT). Its database moves into dqlite, which\n" +
			"listens on --database-address (default: the HTTPS port plus one).",
		Example: "  lite config set core.https_address 10.0.0.1:8443\n  lite cluster enable host1", Args: cli.ExactArgs(1)})
	cmd.Flags().StringVar(&opts.DatabaseAddress, "database-address", "", "HOST:PORT of this member's database node (default: HTTPS port + 1)")
	return cmd
}

// RunEnable enables clustering and waits until the server is the first member.
func RunEnable(ctx context.Context, opts *Options) error {
	if err := wait(ctx, opts, api.ClusterPut{Cluster: api.Cluster{ServerName: opts.Arg, Enabled: true}, DatabaseAddress: opts.DatabaseAddress}); err != nil {
		return err
	}
	return say(opts, "Clustering enabled: this server is member %s", opts.Arg)
}

// wait sends put and waits for its operation.
func wait(ctx context.Context, opts *Options, put api.ClusterPut) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	op, err := c.UpdateCluster(ctx, put)
	if err != nil {
		return err
	}
	_, err = progress.Wait(ctx, opts.IO, cli.WrapOperation(op))
	return err
}

func say(opts *Options, format string, a ...any) error {
	_, err := fmt.Fprintf(opts.IO.Out, format+"\n", a...)
	return err
}

// NewCmdAdd returns `lite cluster add [REMOTE:]NAME`.
func NewCmdAdd(f *cli.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	return newCmd(f, opts, runF, RunAdd, &cobra.Command{Use: "add [REMOTE:]NAME",
		Short:   "Print a one-time join token for a new member called NAME",
		Example: "  lite cluster add host2\n  (then on host2: lite cluster join TOKEN)", Args: cli.ExactArgs(1)})
}

// RunAdd asks a member for a join token and prints it.
func RunAdd(ctx context.Context, opts *Options) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	op, err := c.CreateClusterMemberToken(ctx, opts.Arg)
	if err != nil {
		return err
	}
	tok, err := tokenFromOp(op.Get())
	if err != nil {
		return err
	}
	return say(opts, "Member %s join token:\n%s", opts.Arg, tok)
}

// tokenFromOp builds the join token from the token operation's metadata (LXD's keys).
func tokenFromOp(op api.Operation) (string, error) {
	md := op.Metadata
	str := func(k string) string { s, _ := md[k].(string); return s }
	tok := api.ClusterMemberJoinToken{ServerName: str("serverName"), Fingerprint: str("fingerprint"), Secret: str("secret"), ExpiresAt: str("expiresAt")}
	if addrs, ok := md["addresses"].([]any); ok {
		for _, a := range addrs {
			if s, ok := a.(string); ok {
				tok.Addresses = append(tok.Addresses, s)
			}
		}
	}
	if tok.Secret == "" || len(tok.Addresses) == 0 {
		return "", fmt.Errorf("the server's token operation carries no secret or no member address: %w", api.ErrInternal)
	}
	return trust.EncodeClusterToken(tok)
}

// NewCmdJoin returns `lite cluster join [REMOTE:]TOKEN`.
func NewCmdJoin(f *cli.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	cmd := newCmd(f, opts, runF, RunJoin, &cobra.Command{Use: "join TOKEN",
		Short: "Join the cluster the token is for (this server must have no instances)",
		Long: "Run on the new server, with the token \"lite cluster add NAME\" printed on a member. The\n" +
			"server must serve HTTPS (core.https_address) and have no instances: its database is\n" +
			"replaced by the cluster's (as in LXD).",
		Example: "  lite config set core.https_address 10.0.0.2:8443\n  lite cluster join eyJzZXJ2ZXJfbmFtZSI6...", Args: cli.ExactArgs(1)})
	cmd.Flags().StringVar(&opts.DatabaseAddress, "database-address", "", "HOST:PORT of this member's database node (default: HTTPS port + 1)")
	cmd.Flags().StringVar(&opts.Name, "name", "", "the member name (must be the token's; default: the token's)")
	return cmd
}

// RunJoin has the local server join with the token.
func RunJoin(ctx context.Context, opts *Options) error {
	tok, err := trust.DecodeClusterToken(opts.Arg)
	if err != nil {
		return err
	}
	name := opts.Name
	if name == "" {
		name = tok.ServerName
	}
	put := api.ClusterPut{Cluster: api.Cluster{ServerName: name, Enabled: true}, ClusterToken: strings.TrimSpace(opts.Arg), DatabaseAddress: opts.DatabaseAddress}
	if len(tok.Addresses) > 0 {
		put.ClusterAddress = tok.Addresses[0]
	}
	if err := wait(ctx, opts, put); err != nil {
		return err
	}
	return say(opts, "Joined the cluster as member %s", name)
}
