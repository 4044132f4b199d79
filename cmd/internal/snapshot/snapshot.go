// Package snapshot holds the commands that save, reset, rename and clone instances:
// snapshot, restore, rename and copy.
package snapshot

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/progress"
	"lite/profiles"
)

// Client is the part of the API these commands use; *client.Client satisfies it.
type Client interface {
	GetInstance(ctx context.Context, name string) (*api.InstanceFull, error)
	CreateInstanceSnapshot(ctx context.Context, name string, req api.InstanceSnapshotsPost) (*client.Operation, error)
	RenameInstanceSnapshot(ctx context.Context, name, snap string, req api.InstanceSnapshotPost) (*client.Operation, error)
	RestoreInstance(ctx context.Context, name, snap string) (*client.Operation, error)
	RenameInstance(ctx context.Context, name string, req api.InstancePost) (*client.Operation, error)
	CopyInstance(ctx context.Context, req api.InstancesPost) (*client.Operation, error)
}

// connect returns the factory's client as a Client.
func connect(f *cli.Factory) (Client, error) {
	c, err := f.Client()
	if err != nil {
		return nil, err
	}
	sc, ok := c.(Client)
	if !ok {
		return nil, fmt.Errorf("this client cannot manage snapshots")
	}
	return sc, nil
}

// connectFor is connect for the server ref names ("host2:web1" or "web1"); it returns the
// name without its remote.
func connectFor(f *cli.Factory, ref string) (Client, string, error) {
	get, name := f.For(ref)
	c, err := get()
	if err != nil {
		return nil, "", err
	}
	sc, ok := c.(Client)
	if !ok {
		return nil, "", fmt.Errorf("this client cannot manage snapshots")
	}
	return sc, name, nil
}

// wait waits for an operation the way every lite command does.
func wait(ctx context.Context, f *cli.Factory, op *client.Operation, err error) (api.Operation, error) {
	if err != nil {
		return api.Operation{}, err
	}
	return progress.Wait(ctx, f.IO, cli.WrapOperation(op))
}

// split splits NAME[/SNAP].
func split(arg string) (name, snap string) {
	name, snap, _ = strings.Cut(arg, "/")
	return name, snap
}

// checkSnapName refuses a snapshot name given on the command line that the server would not
// take, before anything is sent: an empty one (in "c1/" or an empty argument) would
// otherwise mean "the instance itself" or "pick a name".
func checkSnapName(arg, snap string) error {
	if err := profiles.ValidateSnapshotName(snap); err != nil {
		return fmt.Errorf("%q: %w", arg, err)
	}
	return nil
}

// NewCmdSnapshot returns `lite snapshot NAME [SNAP] [--reuse]`.
func NewCmdSnapshot(f *cli.Factory) *cobra.Command {
	var reuse bool
	cmd := &cobra.Command{
		Use:   "snapshot NAME [SNAPSHOT]",
		Short: "Take a snapshot of an instance",
		Long: "Take a snapshot of an instance's root filesystem, config, devices and profiles.\n" +
			"Without a name it is called snapN. A running instance is frozen while its files are copied.",
		Args: cli.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, name, err := connectFor(f, args[0])
			if err != nil {
				return err
			}
			req := api.InstanceSnapshotsPost{Reuse: reuse}
			if len(args) == 2 {
				if err := checkSnapName(args[1], args[1]); err != nil {
					return err
				}
				req.Name = args[1]
			}
			op, err := c.CreateInstanceSnapshot(ctx, name, req)
			_, err = wait(cmd.Context(), f, op, err)
			return err
		},
	}
	cmd.Flags().BoolVar(&reuse, "reuse", false, "replace the snapshot if one of that name exists")
	return cmd
}

// NewCmdRestore returns `lite restore NAME SNAP`.
func NewCmdRestore(f *cli.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "restore NAME SNAPSHOT",
		Short: "Restore an instance to a snapshot",
		Long:  "Restore an instance's root filesystem, config, devices and profiles from a snapshot.\nA running instance is stopped, restored and started again.",
		Args:  cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, name, err := connectFor(f, args[0])
			if err != nil {
				return err
			}
			if err := checkSnapName(args[1], args[1]); err != nil {
				return err
			}
			op, err := c.RestoreInstance(ctx, name, args[1])
			_, err = wait(cmd.Context(), f, op, err)
			return err
		},
	}
}

// NewCmdRename returns `lite rename OLD NEW` and `lite rename NAME/SNAP NAME/NEW`.
func NewCmdRename(f *cli.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "rename OLD NEW | NAME/SNAP [NAME/]NEWSNAP",
		Aliases: []string{"mv"},
		Short:   "Rename a stopped instance or a snapshot",
		Args:    cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := connect(f)
			if err != nil {
				return err
			}
			name, snap := split(args[0])
			newName, newSnap := split(args[1])
			if strings.Contains(args[0], "/") {
				if err := checkSnapName(args[0], snap); err != nil {
					return err
				}
			}
			if snap == "" {
				if newSnap != "" {
					return fmt.Errorf("cannot rename instance %q to a snapshot name %q", name, args[1])
				}
				op, err := c.RenameInstance(ctx, name, api.InstancePost{Name: newName})
				_, err = wait(cmd.Context(), f, op, err)
				return err
			}
			if newSnap == "" && !strings.Contains(args[1], "/") {
				newSnap = newName // "rename c1/snap0 clean" renames the snapshot.
			} else if newName != name {
				return fmt.Errorf("a snapshot cannot move to another instance (%q -> %q)", name, newName)
			}
			if err := checkSnapName(args[1], newSnap); err != nil {
				return err
			}
			op, err := c.RenameInstanceSnapshot(ctx, name, snap, api.InstanceSnapshotPost{Name: newSnap})
			_, err = wait(cmd.Context(), f, op, err)
			return err
		},
	}
}
