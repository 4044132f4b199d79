// Package version holds the lite version command and the client's version.
package version

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"lite/cmd/internal/cli"
)

// Version is the client's version; release builds set it with
// -ldflags "-X lite/cmd/internal/version.Version=...".
var Version = "0.1.0"

// Options are the inputs of lite version.
type Options struct {
	IO     *cli.IOStreams
	Client func() (cli.Client, error)
}

// NewCmdVersion returns `lite version`; runF replaces Run in tests.
func NewCmdVersion(f *cli.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Client: f.Client}
	return &cobra.Command{
		Use:   "version",
		Short: "Show the client's version and, when reachable, the server's",
		Args:  cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
}

// Run prints the versions; an unreachable daemon is reported, not an error.
func Run(ctx context.Context, opts *Options) error {
	out := opts.IO.Out
	_, _ = fmt.Fprintf(out, "Client version: %s\n", Version)
	server := "unreachable"
	if c, err := opts.Client(); err == nil {
		if srv, err := c.GetServer(ctx); err == nil {
			server = srv.Environment.ServerVersion
		}
	}
	_, err := fmt.Fprintf(out, "Server version: %s\n", server)
	return err
}
