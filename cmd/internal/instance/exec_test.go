package instance

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
)

// fakeTerminal is a 100x30 terminal that records raw mode.
type fakeTerminal struct{ raw, restored bool }

func (f *fakeTerminal) Size() (int, int, error) { return 100, 30, nil }
func (f *fakeTerminal) MakeRaw() (func(), error) {
	f.raw = true
	return func() { f.restored = true }, nil
}

// fakeSignals hands the subscribed channel to the test.
type fakeSignals struct {
	mu sync.Mutex
	ch chan<- os.Signal
}

func (f *fakeSignals) Notify(ch chan<- os.Signal, _ ...os.Signal) {
	f.mu.Lock()
	f.ch = ch
	f.mu.Unlock()
}
func (f *fakeSignals) Stop(chan<- os.Signal) {}
func (f *fakeSignals) get() chan<- os.Signal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ch
}

func execWith(t *testing.T, opts ExecOptions, exec func(api.InstanceExecPost, client.ExecArgs) (int, error)) (error, api.InstanceExecPost) {
	t.Helper()
	fake, ios, _, _ := newFake()
	if opts.IO != nil {
		ios = opts.IO
	}
	fake.Exec = exec
	opts.IO, opts.Client, opts.Name = ios, clientOf(fake), "c1"
	if opts.Command == nil {
		opts.Command = []string{"sh", "-c", "exit 7"}
	}
	err := RunExec(context.Background(), &opts)
	var req api.InstanceExecPost
	if len(fake.Requests) > 0 {
		req = fake.Requests[0].(api.InstanceExecPost)
	}
	return err, req
}

func TestExecExitCodeBecomesTheProcessStatus(t *testing.T) {
	cases := []struct {
		code     int
		err      error
		exit     int
		printed  string
		plainErr bool
	}{
		{0, nil, 0, "", false},
		{7, nil, 7, "", false},
		{127, errors.New("Command not found"), 127, "Error: Command not found\n", false},
		{-1, errors.New("Instance is not running"), 1, "Error: Instance is not running\n", true},
	}
	for _, tc := range cases {
		err, _ := execWith(t, ExecOptions{}, func(api.InstanceExecPost, client.ExecArgs) (int, error) { return tc.code, tc.err })
		var stderr bytes.Buffer
		if exit := cli.ExitCode(&stderr, err); exit != tc.exit || stderr.String() != tc.printed {
			t.Errorf("exec returning (%d, %v): exit %d printing %q, want %d printing %q",
				tc.code, tc.err, exit, stderr.String(), tc.exit, tc.printed)
		}
		var exitErr *cli.ExitError
		if err != nil && tc.plainErr == errors.As(err, &exitErr) {
			t.Errorf("exec returning (%d, %v): error %#v", tc.code, tc.err, err)
		}
	}
}

func TestExecRequestAndStreams(t *testing.T) {
	ios, stdout, _ := cli.TestIO("input data")
	ios.Getenv = func(k string) string { return map[string]string{"TERM": "xterm-256color"}[k] }
	err, req := execWith(t, ExecOptions{IO: ios, Env: []string{"A=1", "B=x=y"}, Cwd: "/tmp", User: 1000, Group: 1000},
		func(req api.InstanceExecPost, args client.ExecArgs) (int, error) {
			in, _ := io.ReadAll(args.Stdin)
			_, _ = io.WriteString(args.Stdout, "got "+string(in))
			return 0, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "got input data" {
		t.Errorf("stdout = %q", stdout.String())
	}
	if req.Interactive || !req.WaitForWS || req.Cwd != "/tmp" || req.User != 1000 || req.Group != 1000 ||
		strings.Join(req.Command, " ") != "sh -c exit 7" || req.Width != 0 {
		t.Errorf("request = %+v", req)
	}
	if len(req.Environment) != 3 || req.Environment["TERM"] != "xterm-256color" || req.Environment["A"] != "1" ||
		req.Environment["B"] != "x=y" {
		t.Errorf("environment = %v", req.Environment)
	}
}

func TestExecInteractiveModes(t *testing.T) {
	cases := []struct {
		name                  string
		inTTY, outTTY, force  bool
		noForce               bool
		interactive, rawInput bool
	}{
		{"terminal", true, true, false, false, true, true},
		{"pipe", false, false, false, false, false, false},
		{"stdout piped", true, false, false, false, false, false},
		{"-t on a pipe", false, false, true, false, true, false},
		{"-T on a terminal", true, true, false, true, false, false},
	}
	for _, tc := range cases {
		ios, _, _ := cli.TestIO("")
		term := &fakeTerminal{}
		ios.InTTY, ios.OutTTY, ios.Terminal = tc.inTTY, tc.outTTY, term
		err, req := execWith(t, ExecOptions{IO: ios, ForceInteractive: tc.force, ForceNonInteractive: tc.noForce}, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if req.Interactive != tc.interactive || term.raw != tc.rawInput || term.raw != term.restored {
			t.Errorf("%s: interactive=%v raw=%v restored=%v", tc.name, req.Interactive, term.raw, term.restored)
		}
		if tc.interactive && tc.outTTY && (req.Width != 100 || req.Height != 30) {
			t.Errorf("%s: size %dx%d", tc.name, req.Width, req.Height)
		}
	}
	err, _ := execWith(t, ExecOptions{ForceInteractive: true, ForceNonInteractive: true}, nil)
	if err == nil || err.Error() != "-t and -T cannot be used together" {
		t.Errorf("-t -T: %v", err)
	}
}

func TestExecNoStdin(t *testing.T) {
	ios, _, _ := cli.TestIO("must not be read")
	err, _ := execWith(t, ExecOptions{IO: ios, NoStdin: true}, func(_ api.InstanceExecPost, args client.ExecArgs) (int, error) {
		if args.Stdin != nil {
			return 1, errors.New("stdin was passed")
		}
		return 0, nil
	})
	if err != nil {
		t.Error(err)
	}
}

// TestExecForwardsSignals runs the control handler on a real websocket and checks the frames.
func TestExecForwardsSignals(t *testing.T) {
	frames := make(chan api.InstanceExecControl, 8)
	upgrader := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = conn.Close() }()
		for {
			var ctl api.InstanceExecControl
			if conn.ReadJSON(&ctl) != nil {
				return
			}
			frames <- ctl
		}
	}))
	defer srv.Close()

	ios, _, _ := cli.TestIO("")
	ios.InTTY, ios.OutTTY, ios.Terminal = true, true, &fakeTerminal{}
	sigs := &fakeSignals{}
	ios.Signals = sigs
	var got []api.InstanceExecControl
	err, _ := execWith(t, ExecOptions{IO: ios}, func(_ api.InstanceExecPost, args client.ExecArgs) (int, error) {
		conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			return -1, err
		}
		defer func() { _ = conn.Close() }()
		go args.Control(conn)
		deadline := time.Now().Add(10 * time.Second)
		for sigs.get() == nil && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		for _, s := range []os.Signal{syscall.SIGWINCH, syscall.SIGTERM, syscall.SIGHUP} {
			sigs.get() <- s
			select {
			case f := <-frames:
				got = append(got, f)
			case <-time.After(10 * time.Second):
				return -1, errors.New("no control frame for " + s.String())
			}
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"window-resize 100x30", "signal 15", "signal 1"}
	if len(got) != len(want) {
		t.Fatalf("frames = %+v, want %v", got, want)
	}
	for n, f := range got {
		desc := f.Command + " " + f.Args["width"] + "x" + f.Args["height"]
		if f.Command == "signal" {
			desc = "signal " + strconv.Itoa(f.Signal)
		}
		if n >= len(want) || desc != want[n] {
			t.Errorf("frame %d = %s, want %v", n, desc, want)
		}
	}
}
