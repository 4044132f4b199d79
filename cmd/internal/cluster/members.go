package cluster

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
)

// NewCmdList returns `lite cluster list [REMOTE:]`.
func NewCmdList(f *cli.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	cmd := newCmd(f, opts, runF, RunList, &cobra.Command{Use: "list [REMOTE:]", Aliases: []string{"ls"},
		Short: "List the cluster members with their addresses, roles and status", Args: cli.RangeArgs(0, 1)})
	output.AddFormatFlag(cmd, &opts.Format)
	return cmd
}

// RunList prints the members.
func RunList(ctx context.Context, opts *Options) error {
	if err := onlyServer(opts.Arg); err != nil {
		return err
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	members, err := c.GetClusterMembers(ctx)
	if err != nil {
		return err
	}
	d := output.Data{Header: []string{"NAME", "URL", "ROLES", "STATUS", "MESSAGE"}, Raw: members}
	for _, m := range members {
		d.Rows = append(d.Rows, []string{m.ServerName, m.URL, strings.Join(m.Roles, ","), m.Status, m.Message})
	}
	return output.Print(opts.IO.Out, opts.Format, d)
}

// onlyServer refuses a name after "REMOTE:" where a command takes a server.
func onlyServer(name string) error {
	if name != "" {
		return fmt.Errorf("%q is not a server: want REMOTE: or nothing: %w", name, api.ErrInvalid)
	}
	return nil
}

// NewCmdShow returns `lite cluster show [REMOTE:]NAME`.
func NewCmdShow(f *cli.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	return newCmd(f, opts, runF, RunShow, &cobra.Command{Use: "show [REMOTE:]NAME", Short: "Show a cluster member as YAML", Args: cli.ExactArgs(1)})
}

// RunShow prints one member.
func RunShow(ctx context.Context, opts *Options) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	m, err := c.GetClusterMember(ctx, opts.Arg)
	if err != nil {
		return err
	}
	return output.PrintYAML(opts.IO.Out, m)
}

// NewCmdRemove returns `lite cluster remove [REMOTE:]NAME [--force]`.
func NewCmdRemove(f *cli.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	cmd := newCmd(f, opts, runF, RunRemove, &cobra.Command{Use: "remove [REMOTE:]NAME", Aliases: []string{"rm"},
		Short: "Remove a member from the cluster (run it on another member)", Args: cli.ExactArgs(1)})
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "remove it even if it still has instances (their records are dropped)")
	return cmd
}

// RunRemove removes a member.
func RunRemove(ctx context.Context, opts *Options) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if err := c.DeleteClusterMember(ctx, opts.Arg, opts.Force); err != nil {
		return err
	}
	return say(opts, "Member %s removed", opts.Arg)
}
