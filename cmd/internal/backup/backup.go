// Package backup holds `lite export` and `lite import`: an instance, its snapshots and its
// root filesystem as one tarball.
package backup

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/api"
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

// clientFor returns the API client of the server ref names ("host2:web1" goes to host2,
// "web1" to the default) and the name without its remote.
func clientFor(f *cli.Factory, ref string) (func() (Client, error), string) {
	get, name := f.APIFor(ref)
	return func() (Client, error) { return get() }, name
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
		Use:   "export [REMOTE:]NAME FILE",
		Short: "Write a backup of an instance (config, snapshots, root filesystem) to a tarball",
		Args:  cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Client, opts.Name = clientFor(f, args[0])
			opts.File = args[1]
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
		Use:   "import [REMOTE:] FILE [[REMOTE:]NAME]",
		Short: "Create an instance from a backup tarball",
		Args:  cli.RangeArgs(1, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) > 1 && strings.HasSuffix(args[0], ":") {
				server, args = args[0], args[1:] // LXD's form: the server first
			} else if len(args) == 3 {
				return fmt.Errorf("too many arguments: want [REMOTE:] FILE [NAME]: %w", api.ErrInvalid)
			}
			if len(args) == 2 {
				server = server + args[1]
			}
			opts.Client, opts.Name = clientFor(f, server)
			opts.File = args[0]
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
