package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"lite/client/api"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/operations"
)

// consoleEndpoints attach to a container's /dev/console (LXD's console API: a websocket
// operation with fds "0" and "control") and serve its log.
var consoleEndpoints = []endpoint{
	{"POST /1.0/instances/{name}/console", consoleInstance},
	{"GET /1.0/instances/{name}/console", getConsoleLog},
}

// Consoler hands out the host end of a running container's console and a function that
// frees it for the next client (after the file is closed). The lxc driver has it.
type Consoler interface {
	Console(ctx context.Context, name string) (*os.File, func(), error)
}

func consoleInstance(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	var req api.InstanceConsolePost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if req.Type != "" && req.Type != "console" {
		return Errorf(api.ErrInvalid, "console type %q is not supported (containers have \"console\")", req.Type)
	}
	full, err := s.Instances.Get(r.Context(), name)
	if err != nil {
		return Error(err)
	}
	if full.StatusCode != api.Running {
		return Errorf(api.ErrNotRunning, "instance %q is not running", name)
	}
	cons, ok := s.Runtime.(Consoler)
	if !ok {
		return Errorf(api.ErrInvalid, "this runtime has no console")
	}
	f, release, err := cons.Console(r.Context(), name)
	if err != nil {
		return Error(err)
	}
	if req.Width > 0 && req.Height > 0 {
		setConsoleSize(f, req.Width, req.Height)
	}
	sess := &consoleSession{console: f, release: sync.OnceFunc(release), secrets: map[string]string{}, conns: map[string]*websocket.Conn{},
		ready: make(chan struct{}), detach: make(chan struct{})}
	fds := map[string]any{}
	for _, fd := range []string{"0", "control"} {
		sec := randomSecret()
		sess.secrets[sec], fds[fd] = fd, sec
	}
	op := s.Ops.Create(operations.Spec{
		Class: api.OperationClassWebsocket, Description: "Showing console",
		Resources: map[string][]string{"instances": {instance.URL(name)}},
		Metadata:  map[string]any{"fds": fds},
		Connect:   sess.connect,
	})
	go func() { op.Finish(sess.run()) }()
	return Async(op)
}

// consoleSession relays one client's websocket to the console until either side ends.
type consoleSession struct {
	console *os.File
	release func() // frees the console once it is closed
	mu      sync.Mutex
	secrets map[string]string
	conns   map[string]*websocket.Conn
	ready   chan struct{}
	once    sync.Once
	// detach is closed when the control websocket goes: LXD's client detaches (ctrl+a q) by
	// closing only that one, and waits for the data websocket to be closed by the server.
	detach     chan struct{}
	detachOnce sync.Once
}

func (c *consoleSession) connect(secret string, w http.ResponseWriter, r *http.Request) error {
	c.mu.Lock()
	fd, ok := c.secrets[secret]
	if !ok || c.conns[fd] != nil {
		c.mu.Unlock()
		return fmt.Errorf("bad or used websocket secret: %w", api.ErrForbidden)
	}
	c.mu.Unlock()
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conns[fd] = conn
	if fd == "control" {
		go c.control(conn)
	}
	if c.conns["0"] != nil {
		c.once.Do(func() { close(c.ready) })
	}
	return nil
}

// control applies window-resize messages to the console pty; its end detaches the client.
func (c *consoleSession) control(conn *websocket.Conn) {
	defer c.detachOnce.Do(func() { close(c.detach) })
	for {
		_, b, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var msg api.InstanceExecControl
		if json.Unmarshal(b, &msg) != nil || msg.Command != "window-resize" {
			continue
		}
		w, _ := strconv.Atoi(msg.Args["width"])
		h, _ := strconv.Atoi(msg.Args["height"])
		if w > 0 && h > 0 {
			setConsoleSize(c.console, w, h)
		}
	}
}

// run relays until the client goes (detach) or the console ends (the container stopped).
func (c *consoleSession) run() error {
	defer c.release()
	defer c.console.Close()
	select {
	case <-c.ready:
	case <-time.After(connectTimeout):
		c.closeAll()
		return errors.New("timed out waiting for the console websocket to connect")
	}
	c.mu.Lock()
	conn := c.conns["0"]
	c.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { // client -> console
		defer func() { done <- struct{}{} }()
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if _, err := c.console.Write(b); err != nil {
				return
			}
		}
	}()
	go func() { // console -> client
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32*1024)
		for {
			n, err := c.console.Read(buf)
			if n > 0 && conn.WriteMessage(websocket.BinaryMessage, buf[:n]) != nil {
				return
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-c.detach:
	}
	// The console first, so the container's monitor frees it before the client sees the end.
	_ = c.console.Close()
	c.release()
	c.closeAll()
	return nil
}

func (c *consoleSession) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = conn.Close()
	}
}

// setConsoleSize sets the console's window size through the poller's fd: pty.Setsize would
// call Fd(), which turns the fd blocking, and Close could then no longer end a pending Read.
func setConsoleSize(f *os.File, w, h int) {
	sc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = sc.Control(func(fd uintptr) {
		_ = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Col: uint16(w), Row: uint16(h)})
	})
}

// getConsoleLog serves what the console printed since the last start (lite console --show-log).
func getConsoleLog(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	if _, err := s.Instances.Get(r.Context(), name); err != nil {
		return Error(err)
	}
	b, err := os.ReadFile(filepath.Join(s.Instances.Dir(name), "console.log"))
	if err != nil && !os.IsNotExist(err) {
		return Error(fmt.Errorf("read console log: %w", err))
	}
	return Manual(func(w http.ResponseWriter) error {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, err := w.Write(b)
		return err
	})
}
