package instance

import (
	"context"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
)

// StateOptions are the inputs of lite start, stop and restart.
type StateOptions struct {
	IO     *cli.IOStreams
	Client func() (cli.Client, error)

	Action  string // start, stop or restart
	Names   []string
	Force   bool
	Timeout int
}

// NewCmdStart returns `lite start`; runF replaces RunState in tests.
func NewCmdStart(f *cli.Factory, runF func(context.Context, *StateOptions) error) *cobra.Command {
	return newStateCmd(f, runF, "start", "Start instances")
}

// NewCmdStop returns `lite stop`.
func NewCmdStop(f *cli.Factory, runF func(context.Context, *StateOptions) error) *cobra.Command {
	return newStateCmd(f, runF, "stop", "Stop instances (cleanly, unless --force)")
}

// NewCmdRestart returns `lite restart`.
func NewCmdRestart(f *cli.Factory, runF func(context.Context, *StateOptions) error) *cobra.Command {
	return newStateCmd(f, runF, "restart", "Restart instances")
}

func newStateCmd(f *cli.Factory, runF func(context.Context, *StateOptions) error, action, short string) *cobra.Command {
	opts := &StateOptions{IO: f.IO, Client: f.Client, Action: action, Timeout: -1}
	cmd := &cobra.Command{
		Use:   action + " NAME...",
		Short: short,
		Args:  cli.MinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			get, names, err := f.ForAll(args)
			if err != nil {
				return err
			}
			opts.Client, opts.Names = get, names
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunState(cmd.Context(), opts)
		},
	}
	if action != "start" {
		cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "kill the instance instead of shutting it down")
		cmd.Flags().IntVar(&opts.Timeout, "timeout", -1, "seconds to wait for a clean shutdown (-1: forever)")
	}
	return cmd
}

// RunState applies the action to every named instance.
func RunState(ctx context.Context, opts *StateOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	req := api.InstanceStatePut{Action: opts.Action, Timeout: opts.Timeout, Force: opts.Force}
	return forEach(opts.Names, func(name string) error {
		return changeState(ctx, opts.IO, c, name, req)
	})
}
