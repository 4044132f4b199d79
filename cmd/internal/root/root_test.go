package root

import (
	"context"
	"errors"
	"strings"
	"testing"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/cli/clitest"
	"lite/cmd/internal/version"
)

// run runs lite with args against fake and returns the exit status and output; the socket
// is the one the command would have connected to.
func run(fake *clitest.Client, args ...string) (int, string, string, string) {
	ios, stdout, stderr := cli.TestIO("")
	var socket, dialled string
	unreachable := func() error {
		dialled = socket
		if dialled == "" {
			dialled = client.DefaultSocket()
		}
		return errors.New(`cannot reach lited at ` + dialled + `: is it running?`)
	}
	f := &cli.Factory{IO: ios,
		Client: func() (cli.Client, error) {
			if fake == nil {
				return nil, unreachable()
			}
			return fake, nil
		},
		API: func() (*client.Client, error) { return nil, unreachable() },
	}
	code := Run(context.Background(), args, f, &socket)
	return code, stdout.String(), stderr.String(), dialled
}

func TestErrorsBecomeOneLineAndExitOne(t *testing.T) {
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"list", "--bogus"}, "Error: unknown flag: --bogus\n"},
		{[]string{"frobnicate"}, `Error: unknown command "frobnicate" for "lite"` + "\n"},
		{[]string{"start"}, "Error: invalid number of arguments: usage: lite start NAME... [flags]\n"},
		{[]string{"image", "nope"}, `Error: unknown command "nope" for "lite image"` + "\n"},
		{[]string{"list", "--format", "xml"}, `Error: invalid argument "xml" for "--format" flag: invalid format "xml": use table, csv, json or yaml` + "\n"},
		{[]string{"delete", "c1"}, "Error: The instance is currently running, stop it first or use --force\n"},
		{[]string{"info", "ghost"}, "Error: Instance not found\n"},
	}
	for _, tc := range cases {
		fake := &clitest.Client{Instances: []api.InstanceFull{{Instance: api.Instance{Name: "c1", Status: "Running", StatusCode: api.Running}}}}
		code, stdout, stderr, _ := run(fake, tc.args...)
		if code != 1 || stderr != tc.stderr || stdout != "" {
			t.Errorf("lite %s: exit %d, stdout %q, stderr %q; want exit 1 and %q",
				strings.Join(tc.args, " "), code, stdout, stderr, tc.stderr)
		}
	}
}

func TestUnreachableDaemon(t *testing.T) {
	t.Setenv("LITE_DIR", "/srv/lite")
	code, _, stderr, socket := run(nil, "list")
	if code != 1 || stderr != "Error: cannot reach lited at /srv/lite/unix.socket: is it running?\n" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, _, _, socket = run(nil, "--socket", "/tmp/other.sock", "list"); socket != "/tmp/other.sock" {
		t.Errorf("--socket ignored: connected to %q", socket)
	}
	code, stdout, stderr, _ := run(nil, "version")
	if code != 0 || stdout != "Client version: 0.1.0\nServer version: unreachable\n" || stderr != "" {
		t.Errorf("version without daemon: exit %d, %q, %q", code, stdout, stderr)
	}
}

func TestExecExitStatusPassesThrough(t *testing.T) {
	fake := &clitest.Client{Exec: func(req api.InstanceExecPost, _ client.ExecArgs) (int, error) {
		if strings.Join(req.Command, " ") != "sh -c exit 7" {
			return -1, errors.New("wrong command " + strings.Join(req.Command, " "))
		}
		return 7, nil
	}}
	code, _, stderr, _ := run(fake, "exec", "c1", "--", "sh", "-c", "exit 7")
	if code != 7 || stderr != "" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	fake.Exec = func(api.InstanceExecPost, client.ExecArgs) (int, error) { return 127, errors.New("Command not found") }
	code, _, stderr, _ = run(fake, "exec", "c1", "--", "nosuch")
	if code != 127 || stderr != "Error: Command not found\n" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestHelpAndVersionSucceed(t *testing.T) {
	code, stdout, _, _ := run(nil, "--help")
	if code != 0 || !strings.Contains(stdout, "launch") || !strings.Contains(stdout, "--socket") {
		t.Errorf("--help: exit %d:\n%s", code, stdout)
	}
	fake := &clitest.Client{Server: &api.Server{Environment: api.ServerEnvironment{ServerVersion: "5.0.2"}}}
	code, stdout, _, _ = run(fake, "version")
	if code != 0 || stdout != "Client version: 0.1.0\nServer version: 5.0.2\n" {
		t.Errorf("version: exit %d, %q", code, stdout)
	}
}

func TestFlagsReachTheCommands(t *testing.T) {
	fake := &clitest.Client{Instances: []api.InstanceFull{{Instance: api.Instance{Name: "c1", Status: "Running", StatusCode: api.Running}}}}
	code, _, stderr, _ := run(fake, "stop", "c1", "--force", "--timeout", "5")
	if code != 0 || fake.CallLog() != "PUT state c1 stop force=true timeout=5" {
		t.Errorf("stop: exit %d %q, calls %q", code, stderr, fake.CallLog())
	}
	fake.Calls = nil
	code, stdout, _, _ := run(fake, "launch", "debian/12", "c2", "-c", "user.a=b", "-p", "default")
	if code != 0 || stdout != "Creating c2\nStarting c2\n" ||
		fake.CallLog() != "POST instances c2\nPUT state c2 start force=false timeout=-1" {
		t.Errorf("launch: exit %d, %q, calls %q", code, stdout, fake.CallLog())
	}
	fake.Calls = nil
	code, stdout, _, _ = run(fake, "list", "-c", "ns", "--format", "csv")
	if code != 0 || stdout != "c1,RUNNING\n" {
		t.Errorf("list: exit %d, %q", code, stdout)
	}
}

// TestCompletionAndVersionFlag: `lite completion SHELL` prints a script for each shell cobra
// knows, without a daemon; `lite --version` prints the client's version alone.
func TestCompletionAndVersionFlag(t *testing.T) {
	for shell, marker := range map[string]string{"bash": "__start_lite", "zsh": "#compdef lite", "fish": "complete -c lite"} {
		code, stdout, stderr, _ := run(nil, "completion", shell)
		if code != 0 || !strings.Contains(stdout, marker) {
			t.Errorf("completion %s: exit %d, stderr %q, script lacks %q", shell, code, stderr, marker)
		}
	}
	code, _, stderr, _ := run(nil, "completion", "tcsh")
	if code == 0 || !strings.HasPrefix(stderr, "Error: ") {
		t.Errorf("completion tcsh: exit %d, %q", code, stderr)
	}
	code, stdout, _, _ := run(nil, "--version")
	if code != 0 || stdout != version.Version+"\n" {
		t.Errorf("--version: exit %d, %q", code, stdout)
	}
}
