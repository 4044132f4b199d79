// Package root assembles the lite command tree and runs it: the one place where a command's
// error becomes an exit status.
package root

import (
	"context"
	"fmt"
	"sync"

	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/backup"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/cluster"
	"lite/cmd/internal/config"
	"lite/cmd/internal/console"
	"lite/cmd/internal/file"
	"lite/cmd/internal/image"
	"lite/cmd/internal/instance"
	"lite/cmd/internal/lab"
	"lite/cmd/internal/network"
	"lite/cmd/internal/remote"
	"lite/cmd/internal/snapshot"
	"lite/cmd/internal/version"
)

// NewCmdRoot returns the lite command with every subcommand; --socket is stored in socket.
func NewCmdRoot(f *cli.Factory, socket *string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lite",
		Short: "Manage system containers run by lited",
		Long: "lite manages system containers run by the lited daemon.\n" +
			"It talks to lited over $LITE_DIR/unix.socket (LITE_DIR defaults to " + client.DefaultDir + ").",
		SilenceErrors: true,
		SilenceUsage:  true,
		// --version prints the bare client version, as `lxc --version` does.
		Version: version.Version,
	}
	cmd.SetVersionTemplate("{{.Version}}\n")
	cmd.PersistentFlags().StringVar(socket, "socket", "", "path of lited's unix socket (default $LITE_DIR/unix.socket)")
	cmd.AddCommand(
		instance.NewCmdLaunch(f, nil),
		instance.NewCmdInit(f, nil),
		instance.NewCmdStart(f, nil),
		instance.NewCmdStop(f, nil),
		instance.NewCmdRestart(f, nil),
		instance.NewCmdDelete(f, nil),
		instance.NewCmdList(f, nil),
		instance.NewCmdInfo(f, nil),
		instance.NewCmdExec(f, nil),
		image.NewCmdImage(f),
		network.NewCmdNetwork(f),
		lab.NewCmdLab(lab.FromFactory(f)),
		image.NewCmdPublish(f),
		remote.NewCmdRemote(f),
		cluster.NewCmdCluster(f),
		config.NewCmdConfig(f),
		config.NewCmdProfile(f),
		file.NewCmdFile(f),
		console.NewCmdConsole(f, nil),
		backup.NewCmdExport(f, nil), backup.NewCmdImport(f, nil),
		snapshot.NewCmdSnapshot(f, nil), snapshot.NewCmdRestore(f, nil), snapshot.NewCmdRename(f, nil), snapshot.NewCmdCopy(f, nil), snapshot.NewCmdMove(f, nil),
		version.NewCmdVersion(f, nil),
	)
	// The completion scripts are written to the writer set before they are added.
	cmd.SetIn(f.IO.In)
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	addCompletion(cmd)
	return cmd
}

// addCompletion adds cobra's `lite completion bash|zsh|fish|powershell`; an unknown shell
// is an error, not the help text. The scripts call `lite __complete`, which offers commands
// and flags and asks nothing of the daemon.
func addCompletion(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Args = cli.ExactArgs(1)
			c.RunE = func(cmd *cobra.Command, args []string) error {
				return fmt.Errorf("unknown shell %q: lite completion writes scripts for bash, zsh, fish and powershell: %w", args[0], api.ErrInvalid)
			}
		}
	}
}

// Main runs lite with args until ctx is done and returns the exit status: 0 on success, the
// command's code for lite exec, 1 for any other error (printed on stderr as one "Error: ..."
// line). connect dials the daemon's socket, once, when a command first needs it.
func Main(ctx context.Context, args []string, ios *cli.IOStreams, connect func(socket string) (*client.Client, error)) int {
	var socket string
	local := sync.OnceValues(func() (*client.Client, error) {
		path := socket
		if path == "" {
			path = client.DefaultSocket()
		}
		return connect(path)
	})
	// Names without a remote go to the default one: the daemon, or the lite server `lite
	// remote switch` chose (unless --socket names a daemon).
	api := sync.OnceValues(func() (*client.Client, error) {
		if socket != "" {
			return local()
		}
		name, err := remote.DefaultServer()
		if err != nil {
			return nil, err
		}
		if name == "" {
			return local()
		}
		return remote.Connect(name)
	})
	f := &cli.Factory{IO: ios, API: api, Client: cli.RemoteOf(api), SplitRemote: splitRemote(local), ServerOf: serverOf}
	return Run(ctx, args, f, &socket)
}

// Run runs the command tree on f; --socket is stored in socket before any client is made.
func Run(ctx context.Context, args []string, f *cli.Factory, socket *string) int {
	cmd := NewCmdRoot(f, socket)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return cli.ExitCode(f.IO.ErrOut, err)
}

// serverOf names the server ref goes to: its lite remote, "local:" the daemon, and without a
// prefix the default remote (the daemon unless switched). An unknown remote names nothing
// another reference can share.
func serverOf(ref string) string {
	name, _, err := remote.Server(ref)
	switch {
	case err != nil:
		return "\x00" + ref
	case name != "":
		return name
	}
	if d, err := remote.DefaultServer(); err == nil && d != "" {
		return d
	}
	return remote.LocalName
}

// splitRemote returns the factory's SplitRemote: "local:REST" is the daemon, "NAME:REST" the
// lite remote NAME; a prefix that names no remote gives a client that fails saying so.
func splitRemote(local func() (*client.Client, error)) func(ref string) (func() (*client.Client, error), string, bool) {
	return func(ref string) (func() (*client.Client, error), string, bool) {
		name, rest, err := remote.Server(ref)
		switch {
		case err != nil:
			return func() (*client.Client, error) { return nil, err }, rest, true
		case name == "":
			return nil, ref, false
		case name == remote.LocalName:
			return local, rest, true
		}
		return func() (*client.Client, error) { return remote.Connect(name) }, rest, true
	}
}
