// Package file holds `lite file`: push, pull, delete and edit files inside an instance. The
// daemon resolves every path inside the container's root filesystem.
package file

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"lite/client"
	"lite/cmd/internal/cli"
)

// Client is the part of the API these commands use; *client.Client satisfies it.
type Client interface {
	GetInstanceFile(ctx context.Context, name, path string) (io.ReadCloser, *client.FileInfo, error)
	CreateInstanceFile(ctx context.Context, name, path string, args client.FileArgs) error
	DeleteInstanceFile(ctx context.Context, name, path string) error
}

var _ Client = (*client.Client)(nil)

// clientFor returns the API client of the server refs name (one server: "host2:web1/etc/x"
// goes to host2, "web1/etc/x" to the default) and the refs without their remote.
func clientFor(f *cli.Factory, refs []string) (func() (Client, error), []string, error) {
	get, names, err := f.APIForAll(refs)
	if err != nil {
		return nil, nil, err
	}
	return func() (Client, error) { return get() }, names, nil
}

// target splits NAME/PATH into the instance and an absolute path inside it.
func target(arg string) (name, p string, err error) {
	name, rest, ok := strings.Cut(arg, "/")
	if !ok || name == "" {
		return "", "", fmt.Errorf("invalid target %q: want NAME/PATH", arg)
	}
	return name, "/" + rest, nil
}

// NewCmdFile returns the `lite file` command group.
func NewCmdFile(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "file",
		Short: "Manage files inside instances",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(NewCmdPush(f, nil), NewCmdPull(f, nil), NewCmdDelete(f, nil), NewCmdEdit(f, nil))
	return cmd
}

// PushOptions are the inputs of lite file push.
type PushOptions struct {
	IO     *cli.IOStreams
	Client func() (Client, error)

	Sources   []string // local paths
	Target    string   // NAME/PATH
	UID, GID  int64    // -1: the server's default
	Mode      string   // octal; "" keeps the source's
	Parents   bool
	Recursive bool
}

// NewCmdPush returns `lite file push`; runF replaces RunPush in tests.
func NewCmdPush(f *cli.Factory, runF func(context.Context, *PushOptions) error) *cobra.Command {
	opts := &PushOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "push SOURCE... [REMOTE:]NAME/PATH",
		Short: "Copy local files into an instance",
		Long: "Copy local files into an instance. With several sources, or a PATH ending in /, PATH is a\n" +
			"directory. Owners are in the container's ids; the mode defaults to the source's.",
		Args: cli.MinArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			get, target, err := clientFor(f, args[len(args)-1:])
			if err != nil {
				return err
			}
			opts.Client, opts.Sources, opts.Target = get, args[:len(args)-1], target[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunPush(cmd.Context(), opts)
		},
	}
	cmd.Flags().Int64Var(&opts.UID, "uid", -1, "owner of the files, in the container's ids")
	cmd.Flags().Int64Var(&opts.GID, "gid", -1, "group of the files, in the container's ids")
	cmd.Flags().StringVar(&opts.Mode, "mode", "", "mode of the files (octal; default: the source's)")
	cmd.Flags().BoolVarP(&opts.Parents, "create-dirs", "p", false, "create missing parent directories")
	cmd.Flags().BoolVarP(&opts.Recursive, "recursive", "r", false, "push directories recursively")
	return cmd
}

// RunPush copies the sources into the instance.
func RunPush(ctx context.Context, opts *PushOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	var mode int64 = -1
	if opts.Mode != "" {
		if _, err := fmt.Sscanf(opts.Mode, "%o", &mode); err != nil || mode < 0 || mode > 0o7777 {
			return fmt.Errorf("invalid --mode %q: want octal, e.g. 0644", opts.Mode)
		}
	}
	name, dst, err := target(opts.Target)
	if err != nil {
		return err
	}
	intoDir := len(opts.Sources) > 1 || strings.HasSuffix(dst, "/") || opts.Recursive
	p := pusher{c: c, name: name, uid: opts.UID, gid: opts.GID, mode: mode}
	if opts.Parents {
		dir := dst
		if !intoDir {
			dir = path.Dir(dst)
		}
		if err := p.mkdirAll(ctx, dir); err != nil {
			return err
		}
	}
	for _, src := range opts.Sources {
		to := dst
		if intoDir {
			to = path.Join(dst, filepath.Base(src))
		}
		if err := p.push(ctx, src, to, opts.Recursive); err != nil {
			return err
		}
	}
	return nil
}

// pusher writes local files into one instance.
type pusher struct {
	c        Client
	name     string
	uid, gid int64
	mode     int64
}

func (p pusher) modeOf(info fs.FileInfo) int64 {
	if p.mode >= 0 {
		return p.mode
	}
	return int64(info.Mode().Perm())
}

// mkdirAll creates dir and its parents inside the instance (existing ones are kept).
func (p pusher) mkdirAll(ctx context.Context, dir string) error {
	cur := ""
	for _, part := range strings.Split(strings.Trim(dir, "/"), "/") {
		if part == "" {
			continue
		}
		cur += "/" + part
		err := p.c.CreateInstanceFile(ctx, p.name, cur, client.FileArgs{Type: "directory", UID: p.uid, GID: p.gid, Mode: -1})
		if err != nil {
			return err
		}
	}
	return nil
}

func (p pusher) push(ctx context.Context, src, dst string, recursive bool) error {
	info, err := os.Lstat(src)
	if err != nil {
		return err
	}
	switch {
	case info.IsDir():
		if !recursive {
			return fmt.Errorf("%s is a directory: use -r to push it", src)
		}
		return filepath.WalkDir(src, func(local string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(src, local)
			if err != nil {
				return err
			}
			return p.pushOne(ctx, local, path.Join(dst, filepath.ToSlash(rel)))
		})
	default:
		return p.pushOne(ctx, src, dst)
	}
}

// pushOne writes one file, directory (without its content) or symlink.
func (p pusher) pushOne(ctx context.Context, src, dst string) error {
	info, err := os.Lstat(src)
	if err != nil {
		return err
	}
	args := client.FileArgs{UID: p.uid, GID: p.gid, Mode: p.modeOf(info)}
	switch {
	case info.IsDir():
		args.Type = "directory"
	case info.Mode()&fs.ModeSymlink != 0:
		t, err := os.Readlink(src)
		if err != nil {
			return err
		}
		args.Type, args.Mode, args.Content = "symlink", -1, strings.NewReader(t)
	case info.Mode().IsRegular():
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		args.Type, args.Content = "file", f
	default:
		return fmt.Errorf("%s: only files, directories and symlinks can be pushed", src)
	}
	if err := p.c.CreateInstanceFile(ctx, p.name, dst, args); err != nil {
		return fmt.Errorf("push %s: %w", src, err)
	}
	return nil
}

// DeleteOptions are the inputs of lite file delete.
type DeleteOptions struct {
	IO     *cli.IOStreams
	Client func() (Client, error)

	Targets []string // NAME/PATH
}

// NewCmdDelete returns `lite file delete`; runF replaces RunDelete in tests.
func NewCmdDelete(f *cli.Factory, runF func(context.Context, *DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{IO: f.IO}
	return &cobra.Command{
		Use:     "delete [REMOTE:]NAME/PATH...",
		Aliases: []string{"rm"},
		Short:   "Delete files (or empty directories) inside an instance",
		Args:    cli.MinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			get, targets, err := clientFor(f, args)
			if err != nil {
				return err
			}
			opts.Client, opts.Targets = get, targets
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunDelete(cmd.Context(), opts)
		},
	}
}

// RunDelete deletes the targets in order, stopping at the first failure.
func RunDelete(ctx context.Context, opts *DeleteOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	for _, a := range opts.Targets {
		name, p, err := target(a)
		if err != nil {
			return err
		}
		if err := c.DeleteInstanceFile(ctx, name, p); err != nil {
			return err
		}
	}
	return nil
}
