package instance

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/progress"
)

// errRunning is LXD's refusal to delete a running instance without --force.
var errRunning = errors.New("The instance is currently running, stop it first or use --force") //nolint:staticcheck // LXD's wording

// DeleteOptions are the inputs of lite delete.
type DeleteOptions struct {
	IO     *cli.IOStreams
	Client func() (cli.Client, error)

	Names []string
	Force bool
}

// NewCmdDelete returns `lite delete`; runF replaces RunDelete in tests.
func NewCmdDelete(f *cli.Factory, runF func(context.Context, *DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{IO: f.IO, Client: f.Client}
	cmd := &cobra.Command{
		Use:     "delete NAME...",
		Aliases: []string{"rm"},
		Short:   "Delete instances",
		Long:    "Delete instances. A running instance is refused unless --force, which stops it first.",
		Args:    cli.MinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			get, names, err := f.ForAll(args)
			if err != nil {
				return err
			}
			opts.Client, opts.Names = get, names
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunDelete(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "stop running instances (killing them) before deleting")
	return cmd
}

// RunDelete deletes every named instance.
func RunDelete(ctx context.Context, opts *DeleteOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	return forEach(opts.Names, func(arg string) error {
		name, snap := splitSnapshot(arg)
		if snap != "" {
			return deleteSnapshot(ctx, opts.IO, c, name, snap)
		}
		inst, err := c.GetInstance(ctx, name)
		if err != nil {
			return err
		}
		if isActive(inst) {
			if !opts.Force {
				return errRunning
			}
			err := changeState(ctx, opts.IO, c, name, api.InstanceStatePut{Action: "stop", Timeout: -1, Force: true})
			if err != nil {
				return err
			}
			if inst.Ephemeral {
				return nil // The server deletes an ephemeral instance when it stops.
			}
		}
		op, err := c.DeleteInstance(ctx, name)
		if err != nil {
			return err
		}
		_, err = progress.Wait(ctx, opts.IO, op)
		return err
	})
}
