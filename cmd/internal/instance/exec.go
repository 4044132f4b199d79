package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/gorilla/websocket"
	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
)

// ExecOptions are the inputs of lite exec.
type ExecOptions struct {
	IO     *cli.IOStreams
	Client func() (cli.Client, error)

	Name                string
	Command             []string
	Env                 []string
	Cwd                 string
	User, Group         uint32
	ForceInteractive    bool // -t
	ForceNonInteractive bool // -T
	NoStdin             bool // -n
}

// NewCmdExec returns `lite exec`; runF replaces RunExec in tests.
func NewCmdExec(f *cli.Factory, runF func(context.Context, *ExecOptions) error) *cobra.Command {
	opts := &ExecOptions{IO: f.IO, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "exec NAME [flags] -- COMMAND [ARG...]",
		Short: "Run a command in an instance",
		Long: "Run a command in an instance and exit with its exit code.\n" +
			"It is interactive (a terminal inside) when stdin and stdout are terminals, unless -t or -T say otherwise.",
		Example: "  lite exec web1 -- bash\n  lite exec web1 --env A=1 --cwd /tmp -- sh -c 'echo $A'",
		Args:    cli.MinArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Client, opts.Name = f.For(args[0])
			opts.Command = args[1:]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunExec(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Env, "env", nil, "environment variable KEY=VALUE (repeatable)")
	fl.StringVar(&opts.Cwd, "cwd", "", "directory to run the command in (default: the user's home)")
	fl.Uint32Var(&opts.User, "user", 0, "user id to run the command as")
	fl.Uint32Var(&opts.Group, "group", 0, "group id to run the command as")
	fl.BoolVarP(&opts.ForceInteractive, "force-interactive", "t", false, "allocate a terminal even if stdin/stdout are not terminals")
	fl.BoolVarP(&opts.ForceNonInteractive, "force-noninteractive", "T", false, "do not allocate a terminal")
	fl.BoolVarP(&opts.NoStdin, "disable-stdin", "n", false, "give the command an empty stdin")
	return cmd
}

// RunExec runs the command and turns its exit code into the process's.
func RunExec(ctx context.Context, opts *ExecOptions) error {
	if opts.ForceInteractive && opts.ForceNonInteractive {
		return errors.New("-t and -T cannot be used together")
	}
	ios := opts.IO
	env, err := parseKeyValues("environment variable", opts.Env)
	if err != nil {
		return err
	}
	if term := ios.Getenv("TERM"); term != "" {
		if _, set := env["TERM"]; !set {
			env["TERM"] = term
		}
	}
	interactive := (ios.InTTY && ios.OutTTY || opts.ForceInteractive) && !opts.ForceNonInteractive
	req := api.InstanceExecPost{
		Command: opts.Command, WaitForWS: true, Interactive: interactive, Environment: env,
		User: opts.User, Group: opts.Group, Cwd: opts.Cwd,
	}
	if interactive && ios.OutTTY && ios.Terminal != nil {
		if w, h, err := ios.Terminal.Size(); err == nil {
			req.Width, req.Height = w, h
		}
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}

	args := client.ExecArgs{Stdin: ios.In, Stdout: ios.Out, Stderr: ios.ErrOut}
	if opts.NoStdin {
		args.Stdin = nil
	}
	if interactive && ios.InTTY && ios.Terminal != nil {
		restore, err := ios.Terminal.MakeRaw()
		if err != nil {
			return fmt.Errorf("set the terminal to raw mode: %w", err)
		}
		defer restore()
	}
	done := make(chan struct{})
	args.Control = forwardControl(ios, interactive, done)
	// Ctrl-C and the other forwarded signals go to the command (forwardControl), so they must
	// not end the session: it ends when the command does.
	code, err := c.ExecInstance(context.WithoutCancel(ctx), opts.Name, req, args)
	close(done)
	switch {
	case err != nil && code < 0:
		return err
	case err != nil:
		return &cli.ExitError{Code: code, Err: err}
	case code != 0:
		return &cli.ExitError{Code: code}
	}
	return nil
}

// forwardedSignals are relayed to the command, as lxc does; SIGWINCH resizes its terminal.
var forwardedSignals = []os.Signal{
	syscall.SIGWINCH, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGABRT,
	syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGUSR1, syscall.SIGUSR2,
	syscall.SIGSEGV, syscall.SIGCONT, syscall.SIGHUP,
}

// forwardControl returns the exec control handler: it subscribes to the forwarded signals and
// writes a control frame for each until done is closed or the socket fails.
func forwardControl(ios *cli.IOStreams, interactive bool, done <-chan struct{}) func(*websocket.Conn) {
	return func(conn *websocket.Conn) {
		ch := make(chan os.Signal, 8)
		ios.Signals.Notify(ch, forwardedSignals...)
		defer ios.Signals.Stop(ch)
		for {
			select {
			case <-done:
				return
			case sig := <-ch:
				msg, ok := controlFor(ios, interactive, sig)
				if !ok {
					continue
				}
				if conn.WriteJSON(msg) != nil {
					return
				}
			}
		}
	}
}

// controlFor is the control frame for a signal: a window size for SIGWINCH (interactive only),
// else the signal itself, SIGHUP becoming SIGTERM without a terminal.
func controlFor(ios *cli.IOStreams, interactive bool, sig os.Signal) (api.InstanceExecControl, bool) {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return api.InstanceExecControl{}, false
	}
	switch s {
	case syscall.SIGWINCH:
		if !interactive || ios.Terminal == nil {
			return api.InstanceExecControl{}, false
		}
		w, h, err := ios.Terminal.Size()
		if err != nil {
			return api.InstanceExecControl{}, false
		}
		return api.InstanceExecControl{Command: "window-resize",
			Args: map[string]string{"width": strconv.Itoa(w), "height": strconv.Itoa(h)}}, true
	case syscall.SIGHUP:
		if !interactive {
			s = syscall.SIGTERM
		}
	}
	return api.InstanceExecControl{Command: "signal", Args: map[string]string{}, Signal: int(s)}, true
}
