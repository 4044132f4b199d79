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
	"lite/cmd/internal/image"
)

// Streamer is what a transfer between two daemons uses on either end; *client.Client
// satisfies it.
type Streamer interface {
	image.Client
	GetInstance(ctx context.Context, name string) (*api.InstanceFull, error)
	ExportInstance(ctx context.Context, name string, instanceOnly bool, w io.Writer) error
	ExportInstanceLayers(ctx context.Context, name string, instanceOnly bool, w io.Writer) error
	ImportInstance(ctx context.Context, r io.Reader, name string) (*client.Operation, error)
	UpdateInstanceState(ctx context.Context, name string, req api.InstanceStatePut) (*client.Operation, error)
	DeleteInstance(ctx context.Context, name string) (*client.Operation, error)
}

var _ Streamer = (*client.Client)(nil)

// Transfer is one copy or move of an instance between two daemons.
type Transfer struct {
	Src, Dst         func() (Streamer, error)
	SrcName, DstName string
	InstanceOnly     bool
	Move, Stateless  bool
}

// newTransfer returns the transfer between the servers src and dst name, or nil when both are
// on the default daemon (no remote on either side).
func newTransfer(f *cli.Factory, src, dst string) *Transfer {
	srcGet, srcName := f.APIFor(src)
	dstGet, dstName := f.APIFor(dst)
	if f.OneServer(src, dst) {
		return nil // both on one server
	}
	t := &Transfer{SrcName: srcName, DstName: dstName,
		Src: func() (Streamer, error) { return srcGet() },
		Dst: func() (Streamer, error) { return dstGet() },
	}
	if t.DstName == "" {
		t.DstName = t.SrcName // "lite copy web1 host2:" keeps the name
	}
	return t
}

// Run streams the instance (the backup format, checked by the receiver exactly as an
// import) from the source daemon to the target and, for a move, deletes the source.
func (t Transfer) Run(ctx context.Context, ios *cli.IOStreams) error {
	if strings.Contains(t.SrcName, "/") || strings.Contains(t.DstName, "/") {
		return fmt.Errorf("copying snapshots between servers is not supported: name an instance: %w", api.ErrInvalid)
	}
	src, err := t.Src()
	if err != nil {
		return err
	}
	dst, err := t.Dst()
	if err != nil {
		return err
	}
	inst, err := src.GetInstance(ctx, t.SrcName)
	if err != nil {
		return err
	}
	if _, err := dst.GetInstance(ctx, t.DstName); err == nil {
		return fmt.Errorf("instance %q already exists on the target: %w", t.DstName, api.ErrAlreadyExists)
	} else if !errors.Is(err, api.ErrNotFound) {
		return err
	}
	running := inst.StatusCode != api.Stopped
	if t.Move && running {
		if !t.Stateless {
			return fmt.Errorf("instance %q is running: stop it first, or move it with --stateless (stop, move, start there): %w", t.SrcName, api.ErrInvalid)
		}
		if err := waitOp(ctx, ios)(src.UpdateInstanceState(ctx, t.SrcName, api.InstanceStatePut{Action: "stop", Timeout: -1})); err != nil {
			return fmt.Errorf("stop %s before the move: %w", t.SrcName, err)
		}
	}
	layers, err := t.baseImage(ctx, ios, inst, src, dst)
	if err != nil {
		return err
	}
	if err := t.stream(ctx, ios, src, dst, layers); err != nil {
		return err
	}
	if !t.Move {
		return nil
	}
	if err := waitOp(ctx, ios)(src.DeleteInstance(ctx, t.SrcName)); err != nil {
		return fmt.Errorf("the instance was copied to the target as %q but the source could not be deleted: %w", t.DstName, err)
	}
	if running {
		return waitOp(ctx, ios)(dst.UpdateInstanceState(ctx, t.DstName, api.InstanceStatePut{Action: "start", Timeout: -1}))
	}
	return nil
}

// baseImage makes sure the target holds the image the instance was made from (copied there
// once, first, when it does not) and reports whether the stream can then carry the writable
// layers only. An instance whose image the source no longer has goes whole.
func (t Transfer) baseImage(ctx context.Context, ios *cli.IOStreams, inst *api.InstanceFull, src, dst Streamer) (bool, error) {
	fp := inst.Config["volatile.base_image"]
	if fp == "" {
		return false, nil
	}
	img, err := src.GetImage(ctx, fp)
	if errors.Is(err, api.ErrNotFound) {
		return false, nil
	}
	if err == nil {
		err = image.Ensure(ctx, ios, src, dst, img)
	}
	if err != nil {
		return false, fmt.Errorf("copy image %s of %s to the target: %w", fp, t.SrcName, err)
	}
	return true, nil
}

// stream pipes an export from src into an import on dst (of the writable layers only when
// layers is set); an error on either side ends both.
func (t Transfer) stream(ctx context.Context, ios *cli.IOStreams, src, dst Streamer, layers bool) error {
	pr, pw := io.Pipe()
	exported := make(chan error, 1)
	export := src.ExportInstance
	if layers {
		export = src.ExportInstanceLayers
	}
	go func() {
		err := export(ctx, t.SrcName, t.InstanceOnly, pw)
		_ = pw.CloseWithError(err)
		exported <- err
	}()
	op, err := dst.ImportInstance(ctx, pr, t.DstName)
	_ = pr.CloseWithError(errors.New("import ended"))
	if eerr := <-exported; eerr != nil && err == nil {
		err = eerr
	}
	if err != nil {
		return fmt.Errorf("stream %s to the target: %w", t.SrcName, err)
	}
	return wait(ctx, ios, op, nil)
}

func waitOp(ctx context.Context, ios *cli.IOStreams) func(op *client.Operation, err error) error {
	return func(op *client.Operation, err error) error { return wait(ctx, ios, op, err) }
}

// MoveOptions are the inputs of lite move.
type MoveOptions struct {
	IO     *cli.IOStreams
	Client func() (Client, error)

	Source, Dest string
	// Transfer, when set, is a move between two servers; else Source is renamed Dest.
	Transfer *Transfer
}

// NewCmdMove returns `lite move SRC [REMOTE:]DST`: between servers it streams the instance
// and deletes the source; on one server it renames. runF replaces RunMove in tests.
func NewCmdMove(f *cli.Factory, runF func(context.Context, *MoveOptions) error) *cobra.Command {
	opts := &MoveOptions{IO: f.IO}
	var instanceOnly, stateless bool
	cmd := &cobra.Command{
		Use:   "move [REMOTE:]SOURCE [REMOTE:][DESTINATION]",
		Short: "Move an instance to another server (or rename it on this one)",
		Long: "Move a stopped instance, with its snapshots, to another server; the target checks\n" +
			"what it receives as it checks an imported backup. A running instance needs --stateless.",
		Example: "  lite move db1 host2:db1\n  lite move web1 host2: --stateless",
		Args:    cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Transfer = newTransfer(f, args[0], args[1]); opts.Transfer != nil {
				opts.Transfer.Move, opts.Transfer.Stateless, opts.Transfer.InstanceOnly = true, stateless, instanceOnly
			} else {
				get, src, dst, err := clientForPair(f, args[0], args[1], false)
				if err != nil {
					return err
				}
				opts.Client, opts.Source, opts.Dest = get, src, dst
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunMove(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&instanceOnly, "instance-only", false, "move the instance without its snapshots (they are deleted with the source)")
	cmd.Flags().BoolVar(&stateless, "stateless", false, "move a running instance: stop it, move it, start it on the target")
	return cmd
}

// RunMove moves the instance between servers, or renames it on one.
func RunMove(ctx context.Context, opts *MoveOptions) error {
	if opts.Transfer != nil {
		return opts.Transfer.Run(ctx, opts.IO)
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	op, err := c.RenameInstance(ctx, opts.Source, api.InstancePost{Name: opts.Dest})
	return wait(ctx, opts.IO, op, err)
}
