// Package console holds `lite console`: attach to an instance's console, or print its log.
package console

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/gorilla/websocket"
	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
)

// Client is the part of the API lite console uses; *client.Client satisfies it.
type Client interface {
	ConsoleInstance(ctx context.Context, name string, req api.InstanceConsolePost, args client.ConsoleArgs) error
	GetInstanceConsoleLog(ctx context.Context, name string) ([]byte, error)
}

var _ Client = (*client.Client)(nil)

// Options are the inputs of lite console.
type Options struct {
	IO     *cli.IOStreams
	Client func() (Client, error)

	Name    string
	ShowLog bool // print the console's log instead of attaching
}

// NewCmdConsole returns `lite console NAME [--show-log]`; runF replaces Run in tests.
func NewCmdConsole(f *cli.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "console [REMOTE:]NAME",
		Short: "Attach to an instance's console (detach with ctrl+a q)",
		Args:  cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			get, name := f.APIFor(args[0])
			opts.Client, opts.Name = func() (Client, error) { return get() }, name
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.ShowLog, "show-log", false, "print the console's log instead of attaching")
	return cmd
}

// Run attaches to the console, or prints its log.
func Run(ctx context.Context, opts *Options) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if opts.ShowLog {
		b, err := c.GetInstanceConsoleLog(ctx, opts.Name)
		if err != nil {
			return err
		}
		_, err = opts.IO.Out.Write(b)
		return err
	}
	return attach(ctx, opts.IO, c, opts.Name)
}

func attach(ctx context.Context, ios *cli.IOStreams, c Client, name string) error {
	req := api.InstanceConsolePost{Type: "console"}
	if ios.InTTY && ios.Terminal != nil {
		if w, h, err := ios.Terminal.Size(); err == nil {
			req.Width, req.Height = w, h
		}
		restore, err := ios.Terminal.MakeRaw()
		if err != nil {
			return fmt.Errorf("terminal raw mode: %w", err)
		}
		defer restore()
	}
	fmt.Fprintf(ios.ErrOut, "To detach from the console, press: <ctrl>+a q\r\n")
	return c.ConsoleInstance(ctx, name, req, client.ConsoleArgs{
		In: &detachReader{r: ios.In}, Out: ios.Out,
		Control: func(conn *websocket.Conn) {
			if req.Width > 0 {
				_ = conn.WriteJSON(api.InstanceExecControl{Command: "window-resize",
					Args: map[string]string{"width": strconv.Itoa(req.Width), "height": strconv.Itoa(req.Height)}})
			}
		},
	})
}

// detachReader passes input through until ctrl+a q, where it reports EOF; ctrl+a ctrl+a
// sends one ctrl+a.
type detachReader struct {
	r       io.Reader
	escaped bool
}

func (d *detachReader) Read(p []byte) (int, error) {
	buf := make([]byte, len(p))
	for {
		n, err := d.r.Read(buf)
		out := 0
		for _, b := range buf[:n] {
			if d.escaped {
				d.escaped = false
				if b == 'q' {
					return out, io.EOF
				}
				if b != 0x01 {
					p[out] = 0x01
					out++
				}
				p[out] = b
				out++
				continue
			}
			if b == 0x01 {
				d.escaped = true
				continue
			}
			p[out] = b
			out++
		}
		if out > 0 || err != nil {
			return out, err
		}
	}
}
