package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"lite/client/api"
	"lite/lxd-lite/files"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/operations"
)

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
	if err := s.Instances.CheckRunning(r.Context(), name); err != nil {
		return Error(err)
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
	// Without a tty, the process waits for 0, 1 and 2; control is optional.
	fds, required := []string{"0", "1", "2", "control"}, []string{"0", "1", "2"}
	if req.Interactive {
		fds, required = []string{"0", "control"}, []string{"0", "control"}
	}
	ws, secrets := newWSSession(fds, required)
	sess := &execSession{inst: s.Instances, ws: ws, name: name, req: req, env: env}
	ws.onControl, ws.onControlEnd = sess.control, func() {
		// Harmless once the process is reaped: os.Process refuses to signal it then.
		sess.signal(syscall.SIGKILL)
	}
	op := s.Ops.Start(operations.Spec{
		Class: api.OperationClassWebsocket, Description: "Executing command",
		Resources: map[string][]string{"instances": {instance.URL(name)}},
		Metadata:  map[string]any{"fds": secrets, "command": req.Command, "interactive": req.Interactive},
		Connect:   ws.connect,
		Run:       sess.run,
	})
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

// execSession is one exec: its websockets, its process and the mirroring between them.
type execSession struct {
	inst    *instance.Manager
	ws      *wsSession
	name    string
	req     api.InstanceExecPost
	env     []string
	mu      sync.Mutex
	proc    instance.Process
	pending []syscall.Signal // signals that arrived before the process existed
	ptmx    *os.File
}

// run is the operation: it waits for the websockets, runs the command and finishes the
// operation itself, so that on success the client sees the final state (and the return
// code) before the sockets close. Cancelling ctx (lited shutting down) kills the command.
func (e *execSession) run(ctx context.Context, op *operations.Op) error {
	if err := e.ws.waitReady(ctx); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { e.signal(syscall.SIGKILL) })
	code, err := e.execute(ctx)
	stop()
	if err != nil {
		op.UpdateMetadata(map[string]any{"return": -1})
		e.ws.closeAll()
		return err
	}
	op.UpdateMetadata(map[string]any{"return": code})
	op.Finish(execStatusError(code))
	e.ws.closeAll()
	return nil
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
func (e *execSession) execute(ctx context.Context) (int, error) {
	if e.req.Interactive {
		return e.executePty(ctx)
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
	proc, err := e.start(ctx, files[0], files[3], files[5])
	if err != nil {
		return -1, err
	}
	// The child holds its own copies now; ours must close or EOF never comes.
	for _, i := range []int{0, 3, 5} {
		_ = files[i].Close()
	}
	go e.pumpIn(e.ws.conn("0"), files[1])
	outDone := make(chan struct{}, 2)
	go e.pumpOut(files[2], e.ws.conn("1"), outDone)
	go e.pumpOut(files[4], e.ws.conn("2"), outDone)
	go e.watchClient(e.ws.conn("1"))
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

func (e *execSession) executePty(ctx context.Context) (int, error) {
	ptmx, tty, err := e.inst.OpenPty(ctx, e.name)
	if err != nil {
		return -1, err
	}
	defer ptmx.Close()
	defer tty.Close()
	if e.req.Width > 0 && e.req.Height > 0 {
		setWinsize(ptmx, e.req.Width, e.req.Height)
	}
	e.mu.Lock()
	e.ptmx = ptmx
	e.mu.Unlock()
	proc, err := e.start(ctx, tty, tty, tty)
	if err != nil {
		return -1, err
	}
	_ = tty.Close()
	conn := e.ws.conn("0")
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

func (e *execSession) start(ctx context.Context, stdin, stdout, stderr *os.File) (instance.Process, error) {
	proc, err := e.inst.Exec(ctx, e.name, instance.ExecSpec{
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
	if e.ws.conn("control") != nil {
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

// control applies one control message: a window resize (with a tty) or a signal. The
// socket's end kills the command, as in LXD (wsSession.onControlEnd).
func (e *execSession) control(msg api.InstanceExecControl) {
	if w, h, ok := resizeMsg(msg); ok {
		e.mu.Lock()
		ptmx := e.ptmx
		e.mu.Unlock()
		if ptmx != nil {
			setWinsize(ptmx, w, h)
		}
		return
	}
	if msg.Command == "signal" && msg.Signal > 0 {
		e.signal(syscall.Signal(msg.Signal))
	}
}
