package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"lite/client/api"
)

// shutdownOps is the daemon's shutdown of its operations, with its bound.
func (e *env) shutdownOps() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.ops.Shutdown(ctx); err != nil {
		e.t.Fatalf("Shutdown: %v", err)
	}
}

// opNow reads an operation's current state (no waiting).
func (e *env) opNow(op api.Operation) api.Operation {
	e.t.Helper()
	var got api.Operation
	e.ok("GET", "/1.0/operations/"+op.ID, nil, &got)
	return got
}

// Shutdown kills a running exec's command, closes its websockets and returns only once the
// operation is final.
func TestShutdownEndsExec(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	e.start("c1")
	op, secrets := e.execOp("c1", map[string]any{
		"command": []string{"sh", "-c", "echo started; exec sleep 1000"}, "wait-for-websocket": true,
	})
	stdin := e.connectFd(op, secrets["0"])
	stdout := e.connectFd(op, secrets["1"])
	stderr := e.connectFd(op, secrets["2"])
	readUntil(t, stdout, "started")

	e.shutdownOps()
	got := e.opNow(op)
	if got.StatusCode != api.Success || returnCode(t, got) != 128+9 {
		t.Errorf("exec after shutdown: %s %q return %v; want success with 137 (SIGKILL)", got.Status, got.Err, got.Metadata["return"])
	}
	readStream(t, stdout)
	readStream(t, stderr)
	expectClosed(t, stdout, "1")
	expectClosed(t, stderr, "2")
	expectClosed(t, stdin, "0")
}

// An exec still waiting for its websockets ends at shutdown, not at its connect timeout.
func TestShutdownEndsExecWaitingForWebsockets(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	e.start("c1")
	op, _ := e.execOp("c1", map[string]any{"command": []string{"true"}, "wait-for-websocket": true})
	e.shutdownOps()
	got := e.opNow(op)
	if got.StatusCode != api.Failure || !strings.Contains(got.Err, "waiting for websockets") || strings.Contains(got.Err, "timed out") {
		t.Errorf("exec waiting for websockets after shutdown: %s %q", got.Status, got.Err)
	}
	if n := len(e.rt.Execs()); n != 0 {
		t.Errorf("%d command(s) started after shutdown", n)
	}
}

// Shutdown detaches a console: the console is freed and the client's socket closed.
func TestShutdownEndsConsole(t *testing.T) {
	e := newEnvWith(t, envOptions{console: true})
	e.create("c1", nil)
	e.start("c1")
	op, secrets := e.consoleOp("c1", map[string]any{})
	data := e.connectFd(op, secrets["0"])
	e.connectFd(op, secrets["control"])
	if _, err := e.cons.tty("c1").Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, data, "hello")

	e.shutdownOps()
	if got := e.opNow(op); !got.StatusCode.IsFinal() {
		t.Errorf("console operation still %s after shutdown", got.Status)
	}
	if n := e.cons.releases("c1"); n == 0 {
		t.Error("shutdown did not free the console")
	}
	expectClosed(t, data, "0")
}

// Once shutdown began, new operations fail at once and run nothing.
func TestShutdownRefusesNewOperations(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	e.start("c1")
	e.shutdownOps()
	op, _ := e.execOp("c1", map[string]any{"command": []string{"true"}, "wait-for-websocket": true})
	if got := e.opNow(op); got.StatusCode != api.Failure || !strings.Contains(got.Err, "shutting down") {
		t.Errorf("exec after shutdown: %s %q", got.Status, got.Err)
	}
	if msg := e.failOp("POST", "/1.0/instances", map[string]any{"name": "c2", "source": map[string]any{"type": "image", "fingerprint": testFP}}); !strings.Contains(msg, "shutting down") {
		t.Errorf("create after shutdown: %q", msg)
	}
	if len(e.rt.Execs()) != 0 {
		t.Error("a command ran after shutdown")
	}
	for _, c := range e.containers() {
		if c == "c2" {
			t.Error("create after shutdown left container c2")
		}
	}
}
