package snapshot

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
)

// CopyOptions are the inputs of lite copy.
type CopyOptions struct {
	IO     *cli.IOStreams
	Client func() (Client, error)

	Source       string // NAME or NAME/SNAP
	Dest         string
	InstanceOnly bool
	// Transfer, when set, is a copy between two servers (a remote on either side).
	Transfer *Transfer
}

// NewCmdCopy returns `lite copy SRC[/SNAP] DST [--instance-only]`; runF replaces RunCopy in
// tests.
func NewCmdCopy(f *cli.Factory, runF func(context.Context, *CopyOptions) error) *cobra.Command {
	opts := &CopyOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:     "copy [REMOTE:]SOURCE[/SNAPSHOT] [REMOTE:]DESTINATION",
		Aliases: []string{"cp"},
		Short:   "Copy an instance, or make an instance from a snapshot",
		Long: "Copy an instance (running ones are frozen while their files are copied) with its\n" +
			"snapshots, or make a new instance from a snapshot. The copy is stopped, with a new MAC and uuid.",
		Args: cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Transfer = newTransfer(f, args[0], args[1]); opts.Transfer == nil {
				get, src, dst, err := clientForPair(f, args[0], args[1], false)
				if err != nil {
					return err
				}
				opts.Client, opts.Source, opts.Dest = get, src, dst
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunCopy(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.InstanceOnly, "instance-only", false, "copy the instance without its snapshots")
	return cmd
}

// RunCopy copies the instance (or makes one from a snapshot) and waits for it.
func RunCopy(ctx context.Context, opts *CopyOptions) error {
	if opts.Transfer != nil {
		t := *opts.Transfer
		t.InstanceOnly = opts.InstanceOnly
		return t.Run(ctx, opts.IO)
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if strings.Contains(opts.Dest, "/") {
		return fmt.Errorf("the destination %q must be an instance name", opts.Dest)
	}
	if _, snap, ok := strings.Cut(opts.Source, "/"); ok {
		if err := checkSnapName(opts.Source, snap); err != nil {
			return err
		}
	}
	req := api.InstancesPost{
		Name:   opts.Dest,
		Source: api.InstanceSource{Type: "copy", Source: opts.Source, InstanceOnly: opts.InstanceOnly},
	}
	op, err := c.CopyInstance(ctx, req)
	return wait(ctx, opts.IO, op, err)
}
