package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"lite/client/api"
)

// execServer is the exec side of the fake daemon: it hands out one secret per stream, accepts
// each socket once, and runs a scripted "command" once the required sockets are connected.
type execServer struct {
	d *fakeDaemon

	mu       sync.Mutex
	secrets  map[string]string // secret -> fd
	conns    map[string]*websocket.Conn
	order    []string
	arrived  chan struct{}
	stdinLog []string // frame kinds received on fd 0: "binary:<data>" or "barrier"
	control  []api.InstanceExecControl
	request  api.InstanceExecPost
}

func newExecServer(t *testing.T, d *fakeDaemon) *execServer {
	s := &execServer{d: d, secrets: map[string]string{}, conns: map[string]*websocket.Conn{}, arrived: make(chan struct{}, 8)}
	d.mux.HandleFunc("POST /1.0/instances/{name}/exec", s.post)
	d.mux.HandleFunc("GET /1.0/operations/{id}/websocket", s.websocket)
	return s
}

func (s *execServer) post(w http.ResponseWriter, r *http.Request) {
	var req api.InstanceExecPost
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || !req.WaitForWS {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad exec request (wait-for-websocket %v): %v", req.WaitForWS, err))
		return
	}
	fds := []string{"0", "1", "2", "control"}
	if req.Interactive {
		fds = []string{"0", "control"}
	}
	secrets := map[string]any{}
	s.mu.Lock()
	s.request = req
	for _, fd := range fds {
		secret := "secret-" + fd
		s.secrets[secret] = fd
		secrets[fd] = secret
	}
	s.mu.Unlock()
	meta := map[string]any{"fds": secrets, "command": req.Command}
	s.d.startOp(w, api.Operation{ID: "exec1", Class: api.OperationClassWebsocket, Metadata: meta})
	go s.run(req, fds, meta)
}

func (s *execServer) websocket(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fd, ok := s.secrets[r.URL.Query().Get("secret")]
	delete(s.secrets, r.URL.Query().Get("secret"))
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusForbidden, "bad secret")
		return
	}
	// Every socket the client dials is recorded (it dials them all at once, in any order).
	s.mu.Lock()
	s.order = append(s.order, fd)
	s.mu.Unlock()
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.conns[fd] = conn
	s.mu.Unlock()
	s.arrived <- struct{}{}
}

// readStdin collects fd 0 until the end-of-stream frame.
func (s *execServer) readStdin(conn *websocket.Conn) string {
	var in bytes.Buffer
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			return in.String()
		}
		s.mu.Lock()
		if kind == websocket.TextMessage && len(data) == 0 {
			s.stdinLog = append(s.stdinLog, "barrier")
			s.mu.Unlock()
			return in.String()
		}
		s.stdinLog = append(s.stdinLog, fmt.Sprintf("%d:%s", kind, data))
		s.mu.Unlock()
		in.Write(data)
	}
}

func send(conn *websocket.Conn, chunks ...string) {
	for _, c := range chunks {
		_ = conn.WriteMessage(websocket.BinaryMessage, []byte(c))
	}
	_ = conn.WriteMessage(websocket.TextMessage, nil) // end of stream
}

func (s *execServer) finish(meta map[string]any, code api.StatusCode, errText string, ret int) {
	meta["return"] = ret
	s.d.setOp(api.Operation{ID: "exec1", Class: api.OperationClassWebsocket, StatusCode: code, Err: errText, Metadata: meta})
}

// run plays the command named by the request's first word.
func (s *execServer) run(req api.InstanceExecPost, fds []string, meta map[string]any) {
	for range fds {
		select {
		case <-s.arrived:
		case <-time.After(5 * time.Second):
			s.finish(meta, api.Failure, "Timed out waiting for websockets to connect", -1)
			return
		}
	}
	s.mu.Lock()
	conns := s.conns
	s.mu.Unlock()
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	switch req.Command[0] {
	case "upper": // stdout = upper-cased stdin in two frames, a line on stderr, exit 7
		in := strings.ToUpper(s.readStdin(conns["0"]))
		send(conns["1"], in[:len(in)/2], in[len(in)/2:])
		send(conns["2"], "warn\n")
		s.finish(meta, api.Success, "", 7)
	case "late": // the operation ends before the output arrives
		s.readStdin(conns["0"])
		s.finish(meta, api.Success, "", 0)
		time.Sleep(100 * time.Millisecond)
		send(conns["1"], "late output\n")
		send(conns["2"])
	case "missing":
		s.readStdin(conns["0"])
		send(conns["1"])
		send(conns["2"])
		s.finish(meta, api.Failure, "Command not found", 127)
	case "tty": // interactive: report the first control frame, then echo the keystrokes
		_, frame, _ := conns["control"].ReadMessage()
		var ctl api.InstanceExecControl
		_ = json.Unmarshal(frame, &ctl)
		s.mu.Lock()
		s.control = append(s.control, ctl)
		s.mu.Unlock()
		_ = conns["0"].WriteMessage(websocket.BinaryMessage, []byte("size "+ctl.Args["width"]+"x"+ctl.Args["height"]+"\r\n"))
		in := s.readStdin(conns["0"])
		send(conns["0"], in)
		s.finish(meta, api.Success, "", 0)
	}
}

func TestExecRelaysStreamsAndExitCode(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	s := newExecServer(t, d)
	var stdout, stderr bytes.Buffer
	code, err := d.client().ExecInstance(ctx, "c1", api.InstanceExecPost{Command: []string{"upper"}},
		ExecArgs{Stdin: strings.NewReader("hello world\n"), Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatalf("ExecInstance: %v", err)
	}
	if code != 7 {
		t.Errorf("exit code = %d, want 7", code)
	}
	if stdout.String() != "HELLO WORLD\n" || stderr.String() != "warn\n" {
		t.Errorf("stdout = %q, stderr = %q", stdout.String(), stderr.String())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if got := slices.Sorted(slices.Values(s.order)); strings.Join(got, ",") != "0,1,2,control" {
		t.Errorf("sockets connected = %v, want 0, 1, 2 and control, each once", s.order)
	}
	wantStdin := fmt.Sprintf("%d:hello world\n|barrier", websocket.BinaryMessage)
	if strings.Join(s.stdinLog, "|") != wantStdin {
		t.Errorf("stdin frames = %q, want %q", s.stdinLog, wantStdin)
	}
	if s.request.Environment == nil {
		t.Error("environment sent as null")
	}
}

func TestExecWaitsForOutputAfterTheOperationEnds(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	newExecServer(t, d)
	var stdout bytes.Buffer
	code, err := d.client().ExecInstance(ctx, "c1", api.InstanceExecPost{Command: []string{"late"}},
		ExecArgs{Stdout: &stdout})
	if err != nil || code != 0 {
		t.Fatalf("ExecInstance = %d, %v", code, err)
	}
	if stdout.String() != "late output\n" {
		t.Errorf("stdout = %q: output that came after the final state was lost", stdout.String())
	}
}

func TestExecCommandNotFoundKeepsExitCode(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	newExecServer(t, d)
	code, err := d.client().ExecInstance(ctx, "c1", api.InstanceExecPost{Command: []string{"missing"}}, ExecArgs{})
	if err == nil || err.Error() != "Command not found" || code != 127 {
		t.Errorf("ExecInstance = %d, %v; want 127, Command not found", code, err)
	}
}

func TestExecInteractiveUsesControlAndOneStream(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	s := newExecServer(t, d)
	var stdout bytes.Buffer
	resize := func(conn *websocket.Conn) {
		_ = conn.WriteJSON(api.InstanceExecControl{Command: "window-resize", Args: map[string]string{"width": "132", "height": "43"}})
	}
	code, err := d.client().ExecInstance(ctx, "c1",
		api.InstanceExecPost{Command: []string{"tty"}, Interactive: true, Width: 80, Height: 24},
		ExecArgs{Stdin: strings.NewReader("ls\r"), Stdout: &stdout, Control: resize})
	if err != nil || code != 0 {
		t.Fatalf("ExecInstance = %d, %v", code, err)
	}
	if stdout.String() != "size 132x43\r\nls\r" {
		t.Errorf("terminal output = %q", stdout.String())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if got := slices.Sorted(slices.Values(s.order)); strings.Join(got, ",") != "0,control" {
		t.Errorf("sockets connected = %v, want 0 and control, each once", s.order)
	}
}

func TestExecRefusedRequest(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	d.mux.HandleFunc("POST /1.0/instances/{name}/exec", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusBadRequest, "Instance is not running")
	})
	code, err := d.client().ExecInstance(ctx, "c1", api.InstanceExecPost{Command: []string{"true"}}, ExecArgs{})
	if code != -1 || err == nil || err.Error() != "Instance is not running" {
		t.Errorf("ExecInstance = %d, %v", code, err)
	}
}
