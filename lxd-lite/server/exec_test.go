package server_test

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"lite/client/api"
)

var secretRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// execOp posts an exec and checks the websocket operation it returns; it returns the op and
// its per-fd secrets.
func (e *env) execOp(name string, body map[string]any) (api.Operation, map[string]string) {
	e.t.Helper()
	op := e.async("POST", "/1.0/instances/"+name+"/exec", body)
	if op.Class != api.OperationClassWebsocket {
		e.t.Errorf("exec operation class %q", op.Class)
	}
	if op.Resources["instances"][0] != "/1.0/instances/"+name {
		e.t.Errorf("exec resources = %v", op.Resources)
	}
	fds, ok := op.Metadata["fds"].(map[string]any)
	if !ok {
		e.t.Fatalf("exec metadata fds = %#v", op.Metadata["fds"])
	}
	secrets := map[string]string{}
	for fd, v := range fds {
		s, ok := v.(string)
		if !ok || !secretRe.MatchString(s) {
			e.t.Errorf("secret of fd %s = %#v, want 64 hex characters", fd, v)
		}
		secrets[fd] = s
	}
	return op, secrets
}

func (e *env) connectFd(op api.Operation, secret string) *websocket.Conn {
	e.t.Helper()
	conn, resp, err := e.dial("/1.0/operations/" + op.ID + "/websocket?secret=" + secret)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		e.t.Fatalf("connect exec websocket: %v (HTTP %d)", err, status)
	}
	return conn
}

// readStream collects binary frames until the empty text frame (barrier).
func readStream(t *testing.T, conn *websocket.Conn) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var buf bytes.Buffer
	for {
		mt, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("stream ended without the barrier: %v (so far %q)", err, buf.String())
		}
		if mt == websocket.TextMessage {
			if len(data) != 0 {
				t.Fatalf("text frame %q on a data stream; data travels in binary frames", data)
			}
			return buf.String()
		}
		buf.Write(data)
	}
}

// expectClosed checks that the server closes conn after the session.
func expectClosed(t *testing.T, conn *websocket.Conn, fd string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		mt, data, err := conn.ReadMessage()
		if err == nil {
			t.Errorf("fd %s: frame %d %q after the end of the session", fd, mt, data)
			continue
		}
		if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
			t.Errorf("fd %s: server did not close the websocket", fd)
		}
		return
	}
}

func sendBarrier(t *testing.T, conn *websocket.Conn) {
	t.Helper()
	if err := conn.WriteMessage(websocket.TextMessage, []byte{}); err != nil {
		t.Fatal(err)
	}
}

func returnCode(t *testing.T, op api.Operation) int {
	t.Helper()
	v, ok := op.Metadata["return"].(float64)
	if !ok {
		t.Fatalf("operation metadata return = %#v, want a number", op.Metadata["return"])
	}
	return int(v)
}

// The non-interactive session as lxc runs it: control, then 0, 1, 2; stdin with its barrier;
// stdout and stderr apart, each ended by a barrier; the exit code in the final operation.
func TestExecNonInteractive(t *testing.T) {
	e := newEnv(t)
	e.create("c1", map[string]any{"config": map[string]string{"environment.GREETING": "hello from config"}})
	e.start("c1")
	events := e.listen(api.EventTypeOperation)

	op, secrets := e.execOp("c1", map[string]any{
		"command":            []string{"sh", "-c", `cat; echo "out $GREETING $FOO"; echo err >&2; exit 3`},
		"wait-for-websocket": true, "interactive": false,
		"environment": map[string]string{"FOO": "bar", "TERM": "xterm-256color"}, "width": 80, "height": 24,
	})
	var fds []string
	for fd := range secrets {
		fds = append(fds, fd)
	}
	sort.Strings(fds)
	if strings.Join(fds, ",") != "0,1,2,control" {
		t.Fatalf("fds = %v", fds)
	}
	if op.Metadata["interactive"] != false || op.Metadata["command"] == nil {
		t.Errorf("exec metadata = %v", op.Metadata)
	}
	control := e.connectFd(op, secrets["control"])
	stdin := e.connectFd(op, secrets["0"])
	stdout := e.connectFd(op, secrets["1"])
	stderr := e.connectFd(op, secrets["2"])

	for _, chunk := range []string{"line one\n", "line two\n"} {
		if err := stdin.WriteMessage(websocket.BinaryMessage, []byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	sendBarrier(t, stdin)
	errc := make(chan string, 1)
	go func() { errc <- readStream(t, stderr) }()
	if got := readStream(t, stdout); got != "line one\nline two\nout hello from config bar\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := <-errc; got != "err\n" {
		t.Errorf("stderr = %q", got)
	}
	final := e.wait(op)
	if final.StatusCode != api.Success {
		t.Errorf("exec operation %s: %s", final.Status, final.Err)
	}
	if code := returnCode(t, final); code != 3 {
		t.Errorf("return = %d, want 3", code)
	}
	if _, ok := final.Metadata["fds"]; !ok {
		t.Error("final metadata lost fds")
	}
	// lxc reads the exit code from the final operation event.
	if code := returnCode(t, events.finalOpEvent(op.ID)); code != 3 {
		t.Errorf("final event return = %d", code)
	}
	for fd, c := range map[string]*websocket.Conn{"control": control, "0": stdin, "1": stdout, "2": stderr} {
		expectClosed(t, c, fd)
	}

	execs := e.rt.Execs()
	if len(execs) != 1 {
		t.Fatalf("execs = %d", len(execs))
	}
	env := strings.Join(execs[0].Env, "\n")
	for _, want := range []string{"FOO=bar", "GREETING=hello from config", "HOME=/root", "USER=root", "LANG=C.UTF-8", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm-256color"} {
		if !strings.Contains(env+"\n", want+"\n") {
			t.Errorf("exec environment lacks %s:\n%s", want, env)
		}
	}
	if execs[0].Cwd != "/root" || execs[0].UID != 0 {
		t.Errorf("cwd %q uid %d", execs[0].Cwd, execs[0].UID)
	}
}

// pylxd never opens the control socket: 0, 1, 2 are enough.
func TestExecWithoutControl(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	e.start("c1")
	op, secrets := e.execOp("c1", map[string]any{
		"command": []string{"sh", "-c", "echo $PWD >/dev/null; printf 'no newline'"}, "wait-for-websocket": true,
		"user": nil, "group": nil, "cwd": nil,
	})
	stdin := e.connectFd(op, secrets["0"])
	stdout := e.connectFd(op, secrets["1"])
	stderr := e.connectFd(op, secrets["2"])
	// The command may be done, and its sockets closed, before the barrier goes out: a client
	// must be able to lose that race, so the write's error is not the test's concern.
	_ = stdin.WriteMessage(websocket.TextMessage, []byte{})
	errc := make(chan string, 1)
	go func() { errc <- readStream(t, stderr) }()
	if got := readStream(t, stdout); got != "no newline" {
		t.Errorf("stdout = %q", got)
	}
	if got := <-errc; got != "" {
		t.Errorf("stderr = %q", got)
	}
	final := e.wait(op)
	if final.StatusCode != api.Success || returnCode(t, final) != 0 {
		t.Errorf("final = %s return %v", final.Status, final.Metadata["return"])
	}
}

func TestExecSignal(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	e.start("c1")
	op, secrets := e.execOp("c1", map[string]any{"command": []string{"sh", "-c", "echo ready; exec sleep 60"}, "wait-for-websocket": true})
	control := e.connectFd(op, secrets["control"])
	e.connectFd(op, secrets["0"])
	stdout := e.connectFd(op, secrets["1"])
	e.connectFd(op, secrets["2"])
	_ = stdout.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, data, err := stdout.ReadMessage(); err != nil || string(data) != "ready\n" {
		t.Fatalf("first output %q, %v", data, err)
	}
	if err := control.WriteJSON(api.InstanceExecControl{Command: "signal", Signal: 15}); err != nil {
		t.Fatal(err)
	}
	readStream(t, stdout)
	if code := returnCode(t, e.wait(op)); code != 128+15 {
		t.Errorf("return = %d, want 143 (SIGTERM)", code)
	}
}

// lxc connects control first and forwards a signal (Ctrl-C) as soon as it gets one, possibly
// before the server has spawned the command; LXD applies control frames only once the child
// is born, so such a signal must not be lost.
func TestExecSignalBeforeStart(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	e.start("c1")
	op, secrets := e.execOp("c1", map[string]any{"command": []string{"sleep", "30"}, "wait-for-websocket": true})
	control := e.connectFd(op, secrets["control"])
	if err := control.WriteJSON(api.InstanceExecControl{Command: "signal", Signal: 2}); err != nil {
		t.Fatal(err)
	}
	// Give the server time to read the frame before the command can exist (it needs 0, 1, 2).
	time.Sleep(200 * time.Millisecond)
	e.connectFd(op, secrets["0"])
	stdout := e.connectFd(op, secrets["1"])
	e.connectFd(op, secrets["2"])
	readStream(t, stdout) // times out (fails) if SIGINT was dropped and sleep runs on
	if code := returnCode(t, e.wait(op)); code != 128+2 {
		t.Errorf("return = %d, want 130 (SIGINT)", code)
	}
}

// Closing the control socket while the command runs kills it, as in LXD.
func TestExecControlCloseKills(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	e.start("c1")
	op, secrets := e.execOp("c1", map[string]any{"command": []string{"sh", "-c", "echo ready; exec sleep 60"}, "wait-for-websocket": true})
	control := e.connectFd(op, secrets["control"])
	e.connectFd(op, secrets["0"])
	stdout := e.connectFd(op, secrets["1"])
	e.connectFd(op, secrets["2"])
	_ = stdout.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, data, err := stdout.ReadMessage(); err != nil || string(data) != "ready\n" {
		t.Fatalf("first output %q, %v", data, err)
	}
	_ = control.Close()
	readStream(t, stdout)
	if code := returnCode(t, e.wait(op)); code != 128+9 {
		t.Errorf("return = %d, want 137 (SIGKILL)", code)
	}
}

// A terminal session has one socket for both directions plus control.
func TestExecInteractive(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	e.start("c1")
	op, secrets := e.execOp("c1", map[string]any{
		"command": []string{"sh", "-c", "read x; echo got-$x; test -t 0 && echo tty; exit 5"}, "wait-for-websocket": true,
		"interactive": true, "width": 100, "height": 30,
	})
	if len(secrets) != 2 || secrets["0"] == "" || secrets["control"] == "" {
		t.Fatalf("interactive fds = %v, want 0 and control", secrets)
	}
	control := e.connectFd(op, secrets["control"])
	tty := e.connectFd(op, secrets["0"])
	if err := control.WriteJSON(api.InstanceExecControl{Command: "window-resize", Args: map[string]string{"width": "132", "height": "43"}}); err != nil {
		t.Fatal(err)
	}
	if err := tty.WriteMessage(websocket.BinaryMessage, []byte("abc\n")); err != nil {
		t.Fatal(err)
	}
	out := readStream(t, tty)
	if !strings.Contains(out, "got-abc") || !strings.Contains(out, "tty") {
		t.Errorf("terminal output = %q", out)
	}
	if code := returnCode(t, e.wait(op)); code != 5 {
		t.Errorf("return = %d, want 5", code)
	}
}

func TestExecRefusals(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	body := map[string]any{"command": []string{"true"}, "wait-for-websocket": true}
	if msg := e.fail("POST", "/1.0/instances/c1/exec", body, 400); !strings.Contains(msg, "not running") {
		t.Errorf("exec on stopped instance: %q", msg)
	}
	e.fail("POST", "/1.0/instances/ghost/exec", body, 404)
	e.start("c1")
	e.fail("POST", "/1.0/instances/c1/exec", map[string]any{"command": []string{}}, 400)
	e.fail("POST", "/1.0/instances/c1/exec", `{"command":`, 400)

	op, secrets := e.execOp("c1", map[string]any{"command": []string{"cat"}, "wait-for-websocket": true})
	// A wrong secret is refused before the upgrade, with a JSON 403.
	_, resp, err := e.dial("/1.0/operations/" + op.ID + "/websocket?secret=" + strings.Repeat("0", 64))
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("wrong secret: err %v, response %v", err, resp)
	}
	if _, resp, err := e.dial("/1.0/operations/" + op.ID + "/websocket"); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("no secret: err %v, response %v", err, resp)
	}
	stdin := e.connectFd(op, secrets["0"])
	// Each secret connects once.
	if _, resp, err := e.dial("/1.0/operations/" + op.ID + "/websocket?secret=" + secrets["0"]); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("second use of a secret: err %v, response %v", err, resp)
	}
	stdout := e.connectFd(op, secrets["1"])
	e.connectFd(op, secrets["2"])
	sendBarrier(t, stdin)
	readStream(t, stdout)
	if final := e.wait(op); final.StatusCode != api.Success || returnCode(t, final) != 0 {
		t.Errorf("final = %+v", final)
	}
	// A task operation has no websockets.
	start := e.async("PUT", "/1.0/instances/c1/state", map[string]any{"action": "stop", "force": true})
	e.fail("GET", "/1.0/operations/"+start.ID+"/websocket?secret=x", nil, 400)
	e.fail("GET", "/1.0/operations/nope/websocket?secret=x", nil, 404)
	e.wait(start)
}

// A client that never connects does not leave the session hanging.
func TestExecConnectTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("c1", nil)
	e.start("c1")
	op, secrets := e.execOp("c1", map[string]any{"command": []string{"true"}, "wait-for-websocket": true})
	e.connectFd(op, secrets["0"]) // 1 and 2 never come
	final := e.wait(op)
	if final.StatusCode != api.Failure || !strings.Contains(strings.ToLower(final.Err), "timed out") {
		t.Errorf("final = %s %q", final.Status, final.Err)
	}
	if n := len(e.rt.Execs()); n != 0 {
		t.Errorf("the command ran %d times without its websockets", n)
	}
}

// A command that cannot be run ends as in LXD: the operation fails with "Command not found"
// (127) or "Command not executable" (126) and still carries the code in "return".
func TestExecCommandNotFound(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	e.start("c1")
	for code, msg := range map[int]string{127: "Command not found", 126: "Command not executable"} {
		op, secrets := e.execOp("c1", map[string]any{
			"command": []string{"sh", "-c", fmt.Sprintf("exit %d", code)}, "wait-for-websocket": true,
		})
		stdin := e.connectFd(op, secrets["0"])
		stdout := e.connectFd(op, secrets["1"])
		stderr := e.connectFd(op, secrets["2"])
		_ = stdin.WriteMessage(websocket.TextMessage, []byte{})
		go func() { _ = readStream(t, stderr) }()
		_ = readStream(t, stdout)
		final := e.wait(op)
		if final.StatusCode != api.Failure || final.Err != msg || returnCode(t, final) != code {
			t.Errorf("exit %d: final = %s %q return %v", code, final.Status, final.Err, final.Metadata["return"])
		}
	}
}
