package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
)

// Capturer is the part of the API lab capture uses; *client.Client satisfies it.
type Capturer interface {
	CaptureLab(ctx context.Context, name, target string, filter []string, count int) (io.ReadCloser, string, error)
}

// captureOptions are lab capture's flags.
type captureOptions struct {
	file  string
	count int
}

func newCmdCapture(opts *Options) *cobra.Command {
	var o captureOptions
	cmd := &cobra.Command{Use: "capture [NAME] NODE:IFACE|LINK [-- FILTER...]",
		Short: "Capture packets on a node's interface or a link (tcpdump on the host), as pcap",
		Long: "Capture packets on a node's interface (on the host end of its veth) or on a link\n" +
			"(NODE:IFACE-NODE:IFACE, or one end NODE:IFACE), with the host's tcpdump, and write them\n" +
			"as pcap to FILE (-w) or to standard output. Words after -- are a pcap filter. Ctrl-C or\n" +
			"--count ends it.",
		Args: cli.MinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pos, filter := args, []string(nil)
			if d := cmd.ArgsLenAtDash(); d >= 0 {
				pos, filter = args[:d], args[d:]
			}
			if len(pos) < 1 || len(pos) > 2 {
				return fmt.Errorf("want [NAME] NODE:IFACE|LINK, then -- and a filter: %w", api.ErrInvalid)
			}
			name, err := labName(opts, pos[:len(pos)-1])
			if err != nil {
				return err
			}
			return RunCapture(cmd.Context(), opts, name, pos[len(pos)-1], filter, o)
		}}
	cmd.Flags().StringVarP(&o.file, "write", "w", "-", "write the pcap to this file (- : standard output)")
	cmd.Flags().IntVarP(&o.count, "count", "c", 0, "stop after this many packets (0: until Ctrl-C)")
	return cmd
}

// RunCapture streams a lab capture into a file or standard output until it ends, Ctrl-C
// (or SIGTERM) stops it, or the output cannot take more.
func RunCapture(ctx context.Context, opts *Options, name, target string, filter []string, o captureOptions) error {
	if o.file == "-" && opts.IO.OutTTY {
		return fmt.Errorf("capture writes binary pcap: give -w FILE, or pipe it (| tcpdump -nr -): %w", api.ErrInvalid)
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	out := opts.IO.Out
	if o.file != "-" {
		f, err := os.OpenFile(o.file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("capture: %w", err)
		}
		defer f.Close()
		out = f
	}
	body, where, err := c.CaptureLab(ctx, name, target, filter, o.count)
	if err != nil {
		return err
	}
	defer body.Close()
	fmt.Fprintf(opts.IO.ErrOut, "Capturing on %s\n", where)
	stop := make(chan os.Signal, 1)
	opts.IO.Signals.Notify(stop, os.Interrupt, syscall.SIGTERM)
	defer opts.IO.Signals.Stop(stop)
	done := make(chan struct{})
	defer close(done)
	var stopped atomic.Bool
	go func() {
		select {
		case <-stop:
		case <-ctx.Done():
		case <-done:
			return
		}
		stopped.Store(true)
		body.Close() // ends the copy below; lited stops tcpdump when the stream closes
	}()
	pw := &pcapWriter{w: out}
	n, err := io.Copy(pw, body)
	n -= int64(len(pw.buf)) // a last record cut short is left out
	// Ctrl-C is how a capture ends: through the signal, or through ctx (lite's own signal
	// context), whose end may cut the stream before the goroutine above marks it stopped.
	if stopped.Load() || ctx.Err() != nil {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	if o.file != "-" {
		fmt.Fprintf(opts.IO.ErrOut, "%d bytes of pcap written to %s\n", n, o.file)
	}
	return nil
}
