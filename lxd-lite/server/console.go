package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/gorilla/websocket"

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

func consoleInstance(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	var req api.InstanceConsolePost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if req.Type != "" && req.Type != "console" {
		return Errorf(api.ErrInvalid, "console type %q is not supported (containers have \"console\")", req.Type)
	}
	f, release, err := s.Instances.Console(r.Context(), name)
	if err != nil {
		return Error(err)
	}
	if req.Width > 0 && req.Height > 0 {
		setWinsize(f, req.Width, req.Height)
	}
	ws, fds := newWSSession([]string{"0", "control"}, []string{"0"})
	sess := &consoleSession{console: f, release: sync.OnceFunc(release), ws: ws, detach: make(chan struct{})}
	ws.onControl = func(msg api.InstanceExecControl) {
		if w, h, ok := resizeMsg(msg); ok {
			setWinsize(f, w, h)
		}
	}
	ws.onControlEnd = func() { sess.detachOnce.Do(func() { close(sess.detach) }) }
	op := s.Ops.Start(operations.Spec{
		Class: api.OperationClassWebsocket, Description: "Showing console",
		Resources: map[string][]string{"instances": {instance.URL(name)}},
		Metadata:  map[string]any{"fds": fds},
		Connect:   ws.connect,
		Run:       func(ctx context.Context, _ *operations.Op) error { return sess.run(ctx) },
	})
	return Async(op)
}

// consoleSession relays one client's websocket to the console until either side ends.
type consoleSession struct {
	console *os.File
	release func() // frees the console once it is closed
	ws      *wsSession
	// detach is closed when the control websocket goes: LXD's client detaches (ctrl+a q) by
	// closing only that one, and waits for the data websocket to be closed by the server.
	detach     chan struct{}
	detachOnce sync.Once
}

// run relays until the client goes (detach), the console ends (the container stopped) or
// ctx does (lited shutting down).
func (c *consoleSession) run(ctx context.Context) error {
	defer c.release()
	defer c.console.Close()
	if err := c.ws.waitReady(ctx); err != nil {
		return err
	}
	conn := c.ws.conn("0")
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
	case <-ctx.Done():
	}
	// The console first, so the container's monitor frees it before the client sees the end.
	_ = c.console.Close()
	c.release()
	c.ws.closeAll()
	return nil
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
