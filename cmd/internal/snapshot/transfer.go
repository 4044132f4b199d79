package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/progress"
)

// streamer is what a transfer between two daemons uses on either end.
type streamer interface {
	GetInstance(ctx context.Context, name string) (*api.InstanceFull, error)
	ExportInstance(ctx context.Context, name string, instanceOnly bool, w io.Writer) error
	ImportInstance(ctx context.Context, r io.Reader, name string) (*client.Operation, error)
}

// transfer is one copy or move of an instance between two daemons.
type transfer struct {
	src, dst         func() (cli.Client, error)
	srcName, dstName string
	instanceOnly     bool
	move, stateless  bool
}

// isRemoteTransfer reports whether a copy or move names a remote on either side.
func isRemoteTransfer(f *cli.Factory, src, dst string) bool {
	_, s := f.For(src)
	_, d := f.For(dst)
	return s != src || d != dst
}

func newTransfer(f *cli.Factory, src, dst string) transfer {
	t := transfer{}
	t.src, t.srcName = f.For(src)
	t.dst, t.dstName = f.For(dst)
	if t.dstName == "" {
		t.dstName = t.srcName // "lite copy web1 host2:" keeps the name
	}
	return t
}

func asStreamer(c cli.Client) (streamer, error) {
	s, ok := c.(streamer)
	if !ok {
		return nil, errors.New("this client cannot stream instances between servers")
	}
	return s, nil
}

// run streams the instance (the backup format, checked by the receiver exactly as an
// import) from the source daemon to the target and, for a move, deletes the source.
func (t transfer) run(ctx context.Context, ios *cli.IOStreams) error {
	if strings.Contains(t.srcName, "/") || strings.Contains(t.dstName, "/") {
		return fmt.Errorf("copying snapshots between servers is not supported: name an instance: %w", api.ErrInvalid)
	}
	srcC, err := t.src()
	if err != nil {
		return err
	}
	dstC, err := t.dst()
	if err != nil {
		return err
	}
	src, err := asStreamer(srcC)
	if err != nil {
		return err
	}
	dst, err := asStreamer(dstC)
	if err != nil {
		return err
	}
	inst, err := src.GetInstance(ctx, t.srcName)
	if err != nil {
		return err
	}
	if _, err := dst.GetInstance(ctx, t.dstName); err == nil {
		return fmt.Errorf("instance %q already exists on the target: %w", t.dstName, api.ErrAlreadyExists)
	} else if !errors.Is(err, api.ErrNotFound) {
		return err
	}
	running := inst.StatusCode != api.Stopped
	if t.move && running {
		if !t.stateless {
			return fmt.Errorf("instance %q is running: stop it first, or move it with --stateless (stop, move, start there): %w", t.srcName, api.ErrConflict)
		}
		if err := waitOp(ctx, ios)(srcC.UpdateInstanceState(ctx, t.srcName, api.InstanceStatePut{Action: "stop", Timeout: -1})); err != nil {
			return fmt.Errorf("stop %s before the move: %w", t.srcName, err)
		}
	}
	if err := t.stream(ctx, ios, src, dst); err != nil {
		return err
	}
	if !t.move {
		return nil
	}
	if err := waitOp(ctx, ios)(srcC.DeleteInstance(ctx, t.srcName)); err != nil {
		return fmt.Errorf("the instance was copied to the target as %q but the source could not be deleted: %w", t.dstName, err)
	}
	if running {
		return waitOp(ctx, ios)(dstC.UpdateInstanceState(ctx, t.dstName, api.InstanceStatePut{Action: "start", Timeout: -1}))
	}
	return nil
}

// stream pipes an export from src into an import on dst; an error on either side ends both.
func (t transfer) stream(ctx context.Context, ios *cli.IOStreams, src, dst streamer) error {
	pr, pw := io.Pipe()
	exported := make(chan error, 1)
	go func() {
		err := src.ExportInstance(ctx, t.srcName, t.instanceOnly, pw)
		_ = pw.CloseWithError(err)
		exported <- err
	}()
	op, err := dst.ImportInstance(ctx, pr, t.dstName)
	_ = pr.CloseWithError(errors.New("import ended"))
	if eerr := <-exported; eerr != nil && err == nil {
		err = eerr
	}
	if err != nil {
		return fmt.Errorf("stream %s to the target: %w", t.srcName, err)
	}
	_, err = progress.Wait(ctx, ios, cli.WrapOperation(op))
	return err
}

func waitOp(ctx context.Context, ios *cli.IOStreams) func(op cli.Operation, err error) error {
	return func(op cli.Operation, err error) error {
		if err != nil {
			return err
		}
		_, err = progress.Wait(ctx, ios, op)
		return err
	}
}

// NewCmdMove returns `lite move SRC [REMOTE:]DST`: between servers it streams the instance
// and deletes the source; on one server it renames.
func NewCmdMove(f *cli.Factory) *cobra.Command {
	var instanceOnly, stateless bool
	cmd := &cobra.Command{
		Use:   "move [REMOTE:]SOURCE [REMOTE:][DESTINATION]",
		Short: "Move an instance to another server (or rename it on this one)",
		Long: "Move a stopped instance, with its snapshots, to another server; the target checks\n" +
			"what it receives as it checks an imported backup. A running instance needs --stateless.",
		Example: "  lite move db1 host2:db1\n  lite move web1 host2: --stateless",
		Args:    cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if !isRemoteTransfer(f, args[0], args[1]) {
				c, err := connect(f)
				if err != nil {
					return err
				}
				op, err := c.RenameInstance(ctx, args[0], api.InstancePost{Name: args[1]})
				_, err = wait(cmd.Context(), f, op, err)
				return err
			}
			t := newTransfer(f, args[0], args[1])
			t.move, t.stateless, t.instanceOnly = true, stateless, instanceOnly
			return t.run(cmd.Context(), f.IO)
		},
	}
	cmd.Flags().BoolVar(&instanceOnly, "instance-only", false, "move the instance without its snapshots (they are deleted with the source)")
	cmd.Flags().BoolVar(&stateless, "stateless", false, "move a running instance: stop it, move it, start it on the target")
	return cmd
}
