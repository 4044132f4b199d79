package file

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"

	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/localfs"
	"lite/cmd/internal/cli"
)

// PullOptions are the inputs of lite file pull.
type PullOptions struct {
	IO     *cli.IOStreams
	Client func() (Client, error)

	Sources   []string // NAME/PATH
	Dest      string   // a directory, a file name, or - for stdout
	Recursive bool
}

// NewCmdPull returns `lite file pull`; runF replaces RunPull in tests.
func NewCmdPull(f *cli.Factory, runF func(context.Context, *PullOptions) error) *cobra.Command {
	opts := &PullOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "pull [REMOTE:]NAME/PATH... DEST",
		Short: "Copy files out of an instance",
		Long:  "Copy files out of an instance. DEST may be an existing directory, a file name, or - for stdout.",
		Args:  cli.MinArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			get, sources, err := clientFor(f, args[:len(args)-1])
			if err != nil {
				return err
			}
			opts.Client, opts.Sources, opts.Dest = get, sources, args[len(args)-1]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunPull(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Recursive, "recursive", "r", false, "pull directories recursively")
	return cmd
}

// RunPull copies the sources out of the instance.
func RunPull(ctx context.Context, opts *PullOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	dest := opts.Dest
	st, statErr := os.Stat(dest)
	intoDir := statErr == nil && st.IsDir()
	if len(opts.Sources) > 1 && !intoDir && dest != "-" {
		return fmt.Errorf("%s: with several sources the destination must be an existing directory", dest)
	}
	for _, src := range opts.Sources {
		name, p, err := target(src)
		if err != nil {
			return err
		}
		if dest == "-" {
			if err := pullTo(ctx, c, name, p, opts.IO.Out); err != nil {
				return err
			}
			continue
		}
		to := dest
		if intoDir {
			to = filepath.Join(dest, path.Base(p))
		}
		if err := pull(ctx, c, name, p, to, opts.Recursive); err != nil {
			return err
		}
	}
	return nil
}

// pullTo writes one file's content to w.
func pullTo(ctx context.Context, c Client, name, p string, w io.Writer) error {
	body, info, err := c.GetInstanceFile(ctx, name, p)
	if err != nil {
		return err
	}
	if body == nil {
		return fmt.Errorf("%s is a %s", p, info.Type)
	}
	defer body.Close()
	_, err = io.Copy(w, body)
	return err
}

// pull copies p of the instance to the local path to. The directory of to is the user's own
// path; everything from its last component down is written through localfs, so a symlink that
// an earlier pull brought from the container is replaced or refused, never followed.
func pull(ctx context.Context, c Client, name, p, to string, recursive bool) error {
	to = filepath.Clean(to) // "new/" names the directory new, in "."
	dir, err := localfs.OpenDir(filepath.Dir(to))
	if err != nil {
		return err
	}
	defer dir.Close()
	return pullInto(ctx, c, name, p, dir, filepath.Base(to), recursive)
}

// pullInto copies p of the instance to base under dir.
func pullInto(ctx context.Context, c Client, name, p string, dir *localfs.Dir, base string, recursive bool) error {
	body, info, err := c.GetInstanceFile(ctx, name, p)
	if err != nil {
		return err
	}
	if body != nil {
		defer body.Close()
	}
	switch info.Type {
	case "directory":
		if !recursive {
			return fmt.Errorf("%s is a directory: use -r to pull it", p)
		}
		sub, err := dir.Mkdir(base, os.FileMode(info.Mode&0o777)|0o700)
		if err != nil {
			return err
		}
		defer sub.Close()
		for _, e := range info.Entries {
			if err := pullInto(ctx, c, name, path.Join(p, e), sub, e, true); err != nil {
				return err
			}
		}
		return nil
	case "symlink":
		t, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		return dir.Symlink(string(t), base)
	}
	if body == nil {
		return fmt.Errorf("%s is a %s: only files, directories and symlinks can be pulled", p, info.Type)
	}
	if err := dir.WriteFile(base, os.FileMode(info.Mode&0o777), body); err != nil {
		return fmt.Errorf("pull %s: %w", p, err)
	}
	return nil
}

// EditOptions are the inputs of lite file edit.
type EditOptions struct {
	IO     *cli.IOStreams
	Client func() (Client, error)

	Target string // NAME/PATH
}

// NewCmdEdit returns `lite file edit`; runF replaces RunEdit in tests.
func NewCmdEdit(f *cli.Factory, runF func(context.Context, *EditOptions) error) *cobra.Command {
	opts := &EditOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "edit [REMOTE:]NAME/PATH",
		Short: "Edit a file inside an instance with $EDITOR (or replace it from stdin)",
		Args:  cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			get, target, err := clientFor(f, args[:1])
			if err != nil {
				return err
			}
			opts.Client, opts.Target = get, target[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunEdit(cmd.Context(), opts)
		},
	}
}

// RunEdit replaces the file from stdin when it is not a terminal, else edits it in $EDITOR.
func RunEdit(ctx context.Context, opts *EditOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	name, p, err := target(opts.Target)
	if err != nil {
		return err
	}
	if !opts.IO.InTTY {
		return c.CreateInstanceFile(ctx, name, p, client.FileArgs{UID: -1, GID: -1, Mode: -1, Content: opts.IO.In})
	}
	return edit(ctx, c, opts.IO, name, p)
}

// edit pulls the file into a temporary file, runs the editor on it and pushes it back.
func edit(ctx context.Context, c Client, ios *cli.IOStreams, name, p string) error {
	tmp, err := os.CreateTemp("", "lite-edit-*"+path.Ext(p))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := pullTo(ctx, c, name, p, tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	editor := os.Getenv("VISUAL")
	if editor == "" {
		editor = os.Getenv("EDITOR")
	}
	if editor == "" {
		editor = "vi"
	}
	cmd := exec.Command("sh", "-c", editor+` "$1"`, "editor", tmp.Name())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, ios.Out, ios.ErrOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("editor %s: %w", editor, err)
	}
	f, err := os.Open(tmp.Name())
	if err != nil {
		return err
	}
	defer f.Close()
	return c.CreateInstanceFile(ctx, name, p, client.FileArgs{UID: -1, GID: -1, Mode: -1, Content: f})
}
