package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/gorilla/websocket"

	"lite/client/api"
	"lite/lxd-lite/files"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/operations"
)

// connectTimeout is how long an exec waits for its websockets, as in LXD.
const connectTimeout = 5 * time.Second

// drainTimeout bounds the wait for output after the command exited: a background child that
// keeps stdout open must not hang the session forever.
const drainTimeout = 2 * time.Second

func execInstance(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	var req api.InstanceExecPost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if len(req.Command) == 0 {
		return Errorf(api.ErrInvalid, "no command given")
	}
	running, err := s.Instances.Running(r.Context(), name)
	if err != nil {
		return Error(err)
	}
	if !running {
		return Errorf(api.ErrNotRunning, "instance %q is not running", name)
	}
	env, home, err := s.Instances.ExecEnv(r.Context(), name, req.Environment, req.User)
	if err != nil {
		return Error(err)
	}
	if req.Cwd == "" {
		req.Cwd = home
	} else if err := checkCwd(s, r, req.Cwd); err != nil {
		return Error(err)
	}
	fds := []string{"0", "1", "2", "control"}
	if req.Interactive {
		fds = []string{"0", "control"}
	}
	sess := &execSession{s: s, name: name, req: req, env: env, secrets: map[string]string{},
		conns: map[string]*websocket.Conn{}, ready: make(chan struct{})}
	secrets := map[string]any{}
	for _, fd := range fds {
		sec := randomSecret()
		sess.secrets[sec] = fd
		secrets[fd] = sec
	}
	op := s.Ops.Create(operations.Spec{
		Class: api.OperationClassWebsocket, Description: "Executing command",
		Resources: map[string][]string{"instances": {instance.URL(name)}},
		Metadata:  map[string]any{"fds": secrets, "command": req.Command, "interactive": req.Interactive},
		Connect:   sess.connect,
	})
	sess.op = op
	go sess.run()
	return Async(op)
}

// checkCwd refuses a working directory that is not a directory in the instance: liblxc
// would only warn and run the command in / instead.
func checkCwd(s *Server, r *http.Request, cwd string) error {
	err := withRoot(s, r, func(root *files.Root) error { return root.CheckDir(cwd) })
	switch {
	case err == nil:
		return nil
	case errors.Is(err, api.ErrNotFound):
		return fmt.Errorf("cannot run the command in %q: no such directory in instance %q: %w", cwd, r.PathValue("name"), api.ErrInvalid)
	}
	return fmt.Errorf("cannot run the command in %q: %s: %w", cwd, api.Message(err), api.ErrInvalid)
}

func randomSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// execSession is one exec: its websockets, its process and the mirroring between them.
type execSession struct {
	s       *Server
	name    string
	req     api.InstanceExecPost
	env     []string
	op      *operations.Op
	mu      sync.Mutex
	secrets map[string]string // secret -> fd name
	conns   map[string]*websocket.Conn
	ready   chan struct{}
	proc    instance.Process
	pending []syscall.Signal // signals that arrived before the process existed
	ptmx    *os.File
}

// required is the set of sockets the process waits for; control is optional without a tty.
func (e *execSession) required() []string {
	if e.req.Interactive {
		return []string{"0", "control"}
	}
	return []string{"0", "1", "2"}
}

func (e *execSession) connect(secret string, w http.ResponseWriter, r *http.Request) error {
	e.mu.Lock()
	fd, ok := e.secrets[secret]
	if !ok {
		e.mu.Unlock()
		return fmt.Errorf("bad websocket secret: %w", api.ErrForbidden)
	}
	if e.conns[fd] != nil {
		e.mu.Unlock()
		return fmt.Errorf("websocket %s is already connected: %w", fd, api.ErrForbidden)
	}
	e.mu.Unlock()
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil // the upgrader already answered
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.conns[fd] = conn
	if fd == "control" {
		go e.control(conn)
	}
	for _, need := range e.required() {
		if e.conns[need] == nil {
			return nil
		}
	}
	select {
	case <-e.ready:
	default:
		close(e.ready)
	}
	return nil
}

func (e *execSession) conn(fd string) *websocket.Conn {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.conns[fd]
}

func (e *execSession) closeAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.conns {
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = c.Close()
	}
}

func (e *execSession) run() {
	select {
	case <-e.ready:
	case <-time.After(connectTimeout):
		e.closeAll()
		e.op.Finish(errors.New("timed out waiting for websockets to connect"))
		return
	}
	code, err := e.execute()
	if err != nil {
		e.op.UpdateMetadata(map[string]any{"return": -1})
		e.closeAll()
		e.op.Finish(err)
		return
	}
	e.op.UpdateMetadata(map[string]any{"return": code})
	e.op.Finish(execStatusError(code))
	e.closeAll()
}

// execStatusError is LXD's reading of the shell's exit codes for a command that could not be
// run: the operation fails with "Command not found" (127) or "Command not executable" (126),
// its "return" still carrying the code, so LXD's clients print the error and exit with it.
func execStatusError(code int) error {
	switch code {
	case 127:
		return errors.New("Command not found")
	case 126:
		return errors.New("Command not executable")
	}
	return nil
}

// execute starts the process, mirrors its streams and returns its exit code once its output
// has been sent and every output stream ended with the empty-text-frame barrier.
func (e *execSession) execute() (int, error) {
	if e.req.Interactive {
		return e.executePty()
	}
	var files [6]*os.File // r0 w0 r1 w1 r2 w2
	for i := 0; i < 3; i++ {
		r, w, err := os.Pipe()
		if err != nil {
			return -1, fmt.Errorf("create pipe: %w", err)
		}
		files[2*i], files[2*i+1] = r, w
	}
	defer func() {
		for _, f := range files {
			_ = f.Close()
		}
	}()
	proc, err := e.start(files[0], files[3], files[5])
	if err != nil {
		return -1, err
	}
	// The child holds its own copies now; ours must close or EOF never comes.
	for _, i := range []int{0, 3, 5} {
		_ = files[i].Close()
	}
	go e.pumpIn(e.conn("0"), files[1])
	outDone := make(chan struct{}, 2)
	go e.pumpOut(files[2], e.conn("1"), outDone)
	go e.pumpOut(files[4], e.conn("2"), outDone)
	go e.watchClient(e.conn("1"))
	code, err := proc.Wait()
	if err != nil {
		return -1, fmt.Errorf("wait for command: %w", err)
	}
	deadline := time.After(drainTimeout)
	for n := 0; n < 2; n++ {
		select {
		case <-outDone:
		case <-deadline:
			_ = files[2].Close()
			_ = files[4].Close()
			n = 2
		}
	}
	return code, nil
}

func (e *execSession) executePty() (int, error) {
	ptmx, tty, err := e.s.Runtime.OpenPty(context.Background(), e.name)
	if err != nil {
		return -1, err
	}
	defer ptmx.Close()
	defer tty.Close()
	if e.req.Width > 0 && e.req.Height > 0 {
		_ = pty.Setsize(ptmx, &pty.Winsize{Cols: uint16(e.req.Width), Rows: uint16(e.req.Height)})
	}
	e.mu.Lock()
	e.ptmx = ptmx
	e.mu.Unlock()
	proc, err := e.start(tty, tty, tty)
	if err != nil {
		return -1, err
	}
	_ = tty.Close()
	conn := e.conn("0")
	go e.pumpIn(conn, ptmx)
	outDone := make(chan struct{}, 1)
	go e.pumpOut(ptmx, conn, outDone)
	code, err := proc.Wait()
	if err != nil {
		return -1, fmt.Errorf("wait for command: %w", err)
	}
	select {
	case <-outDone:
	case <-time.After(drainTimeout):
	}
	return code, nil
}

func (e *execSession) start(stdin, stdout, stderr *os.File) (instance.Process, error) {
	proc, err := e.s.Runtime.Exec(context.Background(), e.name, instance.ExecSpec{
		Command: e.req.Command, Env: e.env, Cwd: e.req.Cwd, UID: e.req.User, GID: e.req.Group,
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
	})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.proc = proc
	pending := e.pending
	e.pending = nil
	e.mu.Unlock()
	for _, sig := range pending {
		_ = proc.Signal(sig)
	}
	e.s.Hub.Lifecycle("instance-exec", instance.URL(e.name), map[string]any{"command": e.req.Command})
	return proc, nil
}

// pumpIn copies binary frames from the client into w; an empty text frame (the barrier) or the
// socket closing ends the input. A pty is not closed on the barrier: the session owns it.
func (e *execSession) pumpIn(conn *websocket.Conn, w *os.File) {
	isPty := e.req.Interactive
	for {
		mt, data, err := conn.ReadMessage()
		if err != nil {
			break
		}
		if mt == websocket.TextMessage && len(data) == 0 {
			if isPty {
				continue
			}
			break
		}
		if mt != websocket.BinaryMessage && mt != websocket.TextMessage {
			continue
		}
		if _, err := w.Write(data); err != nil {
			break
		}
	}
	if !isPty {
		_ = w.Close()
	}
}

// pumpOut sends what r yields as binary frames, then the barrier.
func (e *execSession) pumpOut(r io.Reader, conn *websocket.Conn, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if werr := conn.WriteMessage(websocket.BinaryMessage, buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			break
		}
	}
	_ = conn.WriteMessage(websocket.TextMessage, []byte{})
}

// watchClient kills the command when the client goes away without a control socket: LXD's
// convention is that anything read on stdout's socket means the client left.
func (e *execSession) watchClient(conn *websocket.Conn) {
	_, _, _ = conn.NextReader()
	if e.conn("control") != nil {
		return
	}
	e.signal(syscall.SIGKILL)
}

func (e *execSession) signal(sig syscall.Signal) {
	e.mu.Lock()
	p := e.proc
	if p == nil {
		e.pending = append(e.pending, sig)
	}
	e.mu.Unlock()
	if p != nil {
		_ = p.Signal(sig)
	}
}

// control serves the control socket: window resizes and signals. Its closing while the
// command runs kills the command, as in LXD.
func (e *execSession) control(conn *websocket.Conn) {
	for {
		var msg api.InstanceExecControl
		if err := conn.ReadJSON(&msg); err != nil {
			// Harmless once the process is reaped: os.Process refuses to signal it then.
			e.signal(syscall.SIGKILL)
			return
		}
		switch msg.Command {
		case "window-resize":
			w, _ := strconv.Atoi(msg.Args["width"])
			h, _ := strconv.Atoi(msg.Args["height"])
			e.mu.Lock()
			ptmx := e.ptmx
			e.mu.Unlock()
			if ptmx != nil && w > 0 && h > 0 {
				_ = pty.Setsize(ptmx, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)})
			}
		case "signal":
			if msg.Signal > 0 {
				e.signal(syscall.Signal(msg.Signal))
			}
		}
	}
}
