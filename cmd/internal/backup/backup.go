// Package backup holds `lite export` and `lite import`: an instance, its snapshots and its
// root filesystem as one tarball.
package backup

import (
	"context"
	"fmt"
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

func connect(f *cli.Factory) (Client, error) {
	c, err := f.Client()
	if err != nil {
		return nil, err
	}
	bc, ok := c.(Client)
	if !ok {
		return nil, fmt.Errorf("this client cannot export or import instances")
	}
	return bc, nil
}

// NewCmdExport returns `lite export NAME FILE [--instance-only]`.
func NewCmdExport(f *cli.Factory) *cobra.Command {
	var instanceOnly bool
	cmd := &cobra.Command{
		Use:   "export NAME FILE",
		Short: "Write a backup of an instance (config, snapshots, root filesystem) to a tarball",
		Args:  cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := connect(f)
			if err != nil {
				return err
			}
			// Written beside the target under a fresh name and renamed at the end: no half
			// backup under its name, and a symlink in its place is replaced, not written through.
			out, err := localfs.CreatePath(args[1], 0o600)
			if err != nil {
				return err
			}
			defer out.Abort()
			if err := c.ExportInstance(ctx, args[0], instanceOnly, out); err != nil {
				return err
			}
			return out.Commit()
		},
	}
	cmd.Flags().BoolVar(&instanceOnly, "instance-only", false, "leave the snapshots out")
	return cmd
}

// NewCmdImport returns `lite import FILE [NAME]`.
func NewCmdImport(f *cli.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE [NAME]",
		Short: "Create an instance from a backup tarball",
		Args:  cli.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := connect(f)
			if err != nil {
				return err
			}
			in, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			op, err := c.ImportInstance(ctx, in, name)
			if err != nil {
				return err
			}
			_, err = progress.Wait(cmd.Context(), f.IO, cli.WrapOperation(op))
			return err
		},
	}
}
