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

var _ Client = (*client.Client)(nil)

// clientFor returns the API client of the server ref names ("host2:web1" goes to host2,
// "web1" to the default) and the name without its remote.
func clientFor(f *cli.Factory, ref string) (func() (Client, error), string) {
	get, name := f.APIFor(ref)
	return func() (Client, error) { return get() }, name
}

// clientForPair is clientFor for SOURCE and DEST on one server; DEST may leave out the remote
// when sameByDefault (rename: it is the source's), else (copy, move) both name the same one.
func clientForPair(f *cli.Factory, src, dst string, sameByDefault bool) (func() (Client, error), string, string, error) {
	if _, rest := f.APIFor(dst); sameByDefault && rest == dst {
		get, name := clientFor(f, src)
		return get, name, dst, nil
	}
	get, names, err := f.APIForAll([]string{src, dst})
	if err != nil {
		return nil, "", "", err
	}
	return func() (Client, error) { return get() }, names[0], names[1], nil
}

// wait waits for an operation the way every lite command does.
func wait(ctx context.Context, ios *cli.IOStreams, op *client.Operation, err error) error {
	if err != nil {
		return err
	}
	_, err = progress.Wait(ctx, ios, cli.WrapOperation(op))
	return err
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

// SnapshotOptions are the inputs of lite snapshot.
type SnapshotOptions struct {
	IO     *cli.IOStreams
	Client func() (Client, error)

	Name     string
	Snapshot string // "" lets the server pick snapN
	Reuse    bool
}

// NewCmdSnapshot returns `lite snapshot NAME [SNAP] [--reuse]`; runF replaces RunSnapshot in
// tests.
func NewCmdSnapshot(f *cli.Factory, runF func(context.Context, *SnapshotOptions) error) *cobra.Command {
	opts := &SnapshotOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "snapshot NAME [SNAPSHOT]",
		Short: "Take a snapshot of an instance",
		Long: "Take a snapshot of an instance's root filesystem, config, devices and profiles.\n" +
			"Without a name it is called snapN. A running instance is frozen while its files are copied.",
		Args: cli.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Client, opts.Name = clientFor(f, args[0])
			if len(args) == 2 {
				if err := checkSnapName(args[1], args[1]); err != nil {
					return err
				}
				opts.Snapshot = args[1]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunSnapshot(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Reuse, "reuse", false, "replace the snapshot if one of that name exists")
	return cmd
}

// RunSnapshot takes the snapshot and waits for it.
func RunSnapshot(ctx context.Context, opts *SnapshotOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	op, err := c.CreateInstanceSnapshot(ctx, opts.Name, api.InstanceSnapshotsPost{Name: opts.Snapshot, Reuse: opts.Reuse})
	return wait(ctx, opts.IO, op, err)
}

// RestoreOptions are the inputs of lite restore.
type RestoreOptions struct {
	IO     *cli.IOStreams
	Client func() (Client, error)

	Name     string
	Snapshot string
}

// NewCmdRestore returns `lite restore NAME SNAP`; runF replaces RunRestore in tests.
func NewCmdRestore(f *cli.Factory, runF func(context.Context, *RestoreOptions) error) *cobra.Command {
	opts := &RestoreOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "restore NAME SNAPSHOT",
		Short: "Restore an instance to a snapshot",
		Long:  "Restore an instance's root filesystem, config, devices and profiles from a snapshot.\nA running instance is stopped, restored and started again.",
		Args:  cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Client, opts.Name = clientFor(f, args[0])
			opts.Snapshot = args[1]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunRestore(cmd.Context(), opts)
		},
	}
}

// RunRestore restores the instance and waits for it.
func RunRestore(ctx context.Context, opts *RestoreOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if err := checkSnapName(opts.Snapshot, opts.Snapshot); err != nil {
		return err
	}
	op, err := c.RestoreInstance(ctx, opts.Name, opts.Snapshot)
	return wait(ctx, opts.IO, op, err)
}

// RenameOptions are the inputs of lite rename.
type RenameOptions struct {
	IO     *cli.IOStreams
	Client func() (Client, error)

	From, To string // OLD NEW, or NAME/SNAP [NAME/]NEWSNAP
}

// NewCmdRename returns `lite rename OLD NEW` and `lite rename NAME/SNAP NAME/NEW`; runF
// replaces RunRename in tests.
func NewCmdRename(f *cli.Factory, runF func(context.Context, *RenameOptions) error) *cobra.Command {
	opts := &RenameOptions{IO: f.IO}
	return &cobra.Command{
		Use:     "rename [REMOTE:]OLD NEW | [REMOTE:]NAME/SNAP [NAME/]NEWSNAP",
		Aliases: []string{"mv"},
		Short:   "Rename a stopped instance or a snapshot",
		Args:    cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			get, from, to, err := clientForPair(f, args[0], args[1], true)
			if err != nil {
				return err
			}
			opts.Client, opts.From, opts.To = get, from, to
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunRename(cmd.Context(), opts)
		},
	}
}

// RunRename renames the instance or the snapshot and waits for it.
func RunRename(ctx context.Context, opts *RenameOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	name, snap := split(opts.From)
	newName, newSnap := split(opts.To)
	if strings.Contains(opts.From, "/") {
		if err := checkSnapName(opts.From, snap); err != nil {
			return err
		}
	}
	if snap == "" {
		if newSnap != "" {
			return fmt.Errorf("cannot rename instance %q to a snapshot name %q", name, opts.To)
		}
		op, err := c.RenameInstance(ctx, name, api.InstancePost{Name: newName})
		return wait(ctx, opts.IO, op, err)
	}
	if newSnap == "" && !strings.Contains(opts.To, "/") {
		newSnap = newName // "rename c1/snap0 clean" renames the snapshot.
	} else if newName != name {
		return fmt.Errorf("a snapshot cannot move to another instance (%q -> %q)", name, newName)
	}
	if err := checkSnapName(opts.To, newSnap); err != nil {
		return err
	}
	op, err := c.RenameInstanceSnapshot(ctx, name, snap, api.InstanceSnapshotPost{Name: newSnap})
	return wait(ctx, opts.IO, op, err)
}
