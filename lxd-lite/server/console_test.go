package server_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"lite/client/api"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/instance/instancetest"
)

// fakeConsoles gives the fake runtime a console per running instance: a host pty whose
// slave end the test holds as "the container", so the relay is exercised for real.
type fakeConsoles struct {
	*instancetest.Runtime
	t        *testing.T
	mu       sync.Mutex
	ttys     map[string]*os.File
	released map[string]int
}

var _ instance.Consoler = (*fakeConsoles)(nil)

// Console opens a pty for a running instance; the master goes to the caller.
func (f *fakeConsoles) Console(ctx context.Context, name string) (*os.File, func(), error) {
	if !f.Running(name) {
		return nil, nil, fmt.Errorf("instance %q is not running: %w", name, api.ErrNotRunning)
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		return nil, nil, err
	}
	f.t.Cleanup(func() { _ = tty.Close() })
	// No echo: what the client types must not come back as console output.
	// Through SyscallConn: Fd() would turn the tty blocking and void read deadlines.
	sc, err := tty.SyscallConn()
	if err != nil {
		return nil, nil, err
	}
	var terr error
	if err := sc.Control(func(fd uintptr) {
		tio, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			terr = err
			return
		}
		tio.Lflag &^= unix.ECHO
		terr = unix.IoctlSetTermios(int(fd), unix.TCSETS, tio)
	}); err != nil || terr != nil {
		return nil, nil, fmt.Errorf("turn off the fake console's echo: %v %v", err, terr)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ttys == nil {
		f.ttys, f.released = map[string]*os.File{}, map[string]int{}
	}
	f.ttys[name] = tty
	return ptmx, func() {
		f.mu.Lock()
		f.released[name]++
		f.mu.Unlock()
	}, nil
}

// tty returns the container's end of name's last console.
func (f *fakeConsoles) tty(name string) *os.File {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ttys[name]
}

// releases counts how often name's console was freed.
func (f *fakeConsoles) releases(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.released[name]
}

// consoleOp posts a console request and returns the operation and its secrets.
func (e *env) consoleOp(name string, body map[string]any) (api.Operation, map[string]string) {
	e.t.Helper()
	op := e.async("POST", "/1.0/instances/"+name+"/console", body)
	if op.Class != api.OperationClassWebsocket || op.Resources["instances"][0] != "/1.0/instances/"+name {
		e.t.Errorf("console operation: class %q resources %v", op.Class, op.Resources)
	}
	fds, _ := op.Metadata["fds"].(map[string]any)
	secrets := map[string]string{}
	for _, fd := range []string{"0", "control"} {
		s, ok := fds[fd].(string)
		if !ok || !secretRe.MatchString(s) {
			e.t.Fatalf("console fds = %#v, want secrets for 0 and control", op.Metadata["fds"])
		}
		secrets[fd] = s
	}
	return op, secrets
}

// readUntil reads binary frames until what arrived contains want.
func readUntil(t *testing.T, conn *websocket.Conn, want string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var got strings.Builder
	for !strings.Contains(got.String(), want) {
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("console stream ended before %q: %v (got %q)", want, err, got.String())
		}
		got.Write(data)
	}
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ttySize reads a terminal's size without Fd() (which would turn it blocking).
func ttySize(tty *os.File) (int, int) {
	w, h := -1, -1
	sc, err := tty.SyscallConn()
	if err != nil {
		return w, h
	}
	_ = sc.Control(func(fd uintptr) {
		if ws, err := unix.IoctlGetWinsize(int(fd), unix.TIOCGWINSZ); err == nil {
			w, h = int(ws.Col), int(ws.Row)
		}
	})
	return w, h
}

// The console relays both ways through the lifecycle's Console, applies the initial size and
// resizes, and a closed control socket detaches: the server closes the data socket, frees
// the console and the operation succeeds.
func TestConsoleRelayAndDetach(t *testing.T) {
	e := newEnvWith(t, envOptions{console: true})
	e.create("c1", nil)
	e.start("c1")
	op, secrets := e.consoleOp("c1", map[string]any{"width": 100, "height": 30})
	data := e.connectFd(op, secrets["0"])
	control := e.connectFd(op, secrets["control"])
	tty := e.cons.tty("c1")
	if w, h := ttySize(tty); w != 100 || h != 30 {
		t.Errorf("initial console size %dx%d, want 100x30", w, h)
	}

	if _, err := tty.Write([]byte("login: ")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, data, "login: ")
	if err := data.WriteMessage(websocket.BinaryMessage, []byte("root\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = tty.SetReadDeadline(time.Now().Add(20 * time.Second))
	var in strings.Builder
	for !strings.Contains(in.String(), "root") {
		n, err := tty.Read(buf)
		if err != nil {
			t.Fatalf("console input did not arrive: %v (got %q)", err, in.String())
		}
		in.Write(buf[:n])
	}

	msg := api.InstanceExecControl{Command: "window-resize", Args: map[string]string{"width": "120", "height": "40"}}
	if err := control.WriteJSON(msg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the console resize", func() bool { w, h := ttySize(tty); return w == 120 && h == 40 })

	_ = control.Close() // lxc's ctrl+a q
	expectClosed(t, data, "0")
	if got := e.wait(op); got.StatusCode != api.Success {
		t.Errorf("console operation after detach: %s %q", got.Status, got.Err)
	}
	waitFor(t, "the console to be freed", func() bool { return e.cons.releases("c1") > 0 })
}

// Refusals answer the request itself: a stopped or missing instance, another console type,
// a runtime without consoles.
func TestConsoleRefusals(t *testing.T) {
	e := newEnvWith(t, envOptions{console: true})
	e.create("c1", nil)
	if msg := e.fail("POST", "/1.0/instances/c1/console", map[string]any{}, 400); !strings.Contains(msg, "not running") {
		t.Errorf("console of a stopped instance: %q", msg)
	}
	e.fail("POST", "/1.0/instances/nope/console", map[string]any{}, 404)
	e.start("c1")
	if msg := e.fail("POST", "/1.0/instances/c1/console", map[string]any{"type": "vga"}, 400); !strings.Contains(msg, "vga") {
		t.Errorf("console type vga: %q", msg)
	}

	plain := newEnv(t) // the fake runtime without consoles
	plain.create("c1", nil)
	plain.start("c1")
	if msg := plain.fail("POST", "/1.0/instances/c1/console", map[string]any{}, 400); !strings.Contains(msg, "no console") {
		t.Errorf("console on a runtime without one: %q", msg)
	}
}
