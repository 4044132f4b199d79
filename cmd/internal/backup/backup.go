// Package backup holds `lite export` and `lite import`: an instance, its snapshots and its
// root filesystem as one tarball.
package backup

import (
	"context"
	"io"
	"os"

	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/localfs"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/progress"
)

// Client is the part of the API these commands use; *client.Client satisfies it.
type Client interface {
	ExportInstance(ctx context.Context, name string, instanceOnly bool, w io.Writer) error
	ImportInstance(ctx context.Context, r io.Reader, name string) (*client.Operation, error)
}

var _ Client = (*client.Client)(nil)

// clientOf returns the default daemon's API client as a Client.
func clientOf(f *cli.Factory) func() (Client, error) {
	return func() (Client, error) { return f.API() }
}

// ExportOptions are the inputs of lite export.
type ExportOptions struct {
	IO     *cli.IOStreams
	Client func() (Client, error)

	Name         string
	File         string
	InstanceOnly bool
}

// NewCmdExport returns `lite export NAME FILE [--instance-only]`; runF replaces RunExport in
// tests.
func NewCmdExport(f *cli.Factory, runF func(context.Context, *ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "export NAME FILE",
		Short: "Write a backup of an instance (config, snapshots, root filesystem) to a tarball",
		Args:  cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Client, opts.Name, opts.File = clientOf(f), args[0], args[1]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunExport(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.InstanceOnly, "instance-only", false, "leave the snapshots out")
	return cmd
}

// RunExport streams the backup into File.
func RunExport(ctx context.Context, opts *ExportOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	// Written beside the target under a fresh name and renamed at the end: no half
	// backup under its name, and a symlink in its place is replaced, not written through.
	out, err := localfs.CreatePath(opts.File, 0o600)
	if err != nil {
		return err
	}
	defer out.Abort()
	if err := c.ExportInstance(ctx, opts.Name, opts.InstanceOnly, out); err != nil {
		return err
	}
	return out.Commit()
}

// ImportOptions are the inputs of lite import.
type ImportOptions struct {
	IO     *cli.IOStreams
	Client func() (Client, error)

	File string
	Name string // "" keeps the backup's name
}

// NewCmdImport returns `lite import FILE [NAME]`; runF replaces RunImport in tests.
func NewCmdImport(f *cli.Factory, runF func(context.Context, *ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "import FILE [NAME]",
		Short: "Create an instance from a backup tarball",
		Args:  cli.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Client, opts.File = clientOf(f), args[0]
			if len(args) == 2 {
				opts.Name = args[1]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunImport(cmd.Context(), opts)
		},
	}
}

// RunImport uploads File and waits for the instance to be created.
func RunImport(ctx context.Context, opts *ImportOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	in, err := os.Open(opts.File)
	if err != nil {
		return err
	}
	defer in.Close()
	op, err := c.ImportInstance(ctx, in, opts.Name)
	if err != nil {
		return err
	}
	_, err = progress.Wait(ctx, opts.IO, cli.WrapOperation(op))
	return err
}
