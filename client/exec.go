package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"lite/client/api"
)

// drainTimeout bounds how long ExecInstance waits for the output streams once the operation is
// over. The server flushes output and sends the end-of-stream frames before it marks the
// operation final, so this only matters with a misbehaving server.
var drainTimeout = 10 * time.Second

// ExecArgs are the local ends of an exec session.
type ExecArgs struct {
	// Stdin is sent to the command; nil means empty input. End of input is sent when it
	// returns EOF. ExecInstance does not wait for a blocked Read to return.
	Stdin io.Reader
	// Stdout receives the command's output (the terminal's, in interactive mode); nil
	// discards it.
	Stdout io.Writer
	// Stderr receives the command's error output; unused in interactive mode.
	Stderr io.Writer
	// Control, when set, runs in its own goroutine with the control websocket once the session
	// is connected. It may write api.InstanceExecControl JSON frames (window size, signals)
	// until the session ends and the connection is closed; it must not read from it.
	Control func(conn *websocket.Conn)
}

// ExecInstance runs a command in an instance and relays its input and output as in LXD: it
// posts the exec request with wait-for-websocket, connects the control socket and then the
// data sockets, streams stdin as binary frames ending with an empty text frame, copies the
// output until each stream's end-of-stream frame, and returns the command's exit code (the
// operation's "return"). The error is non-nil when the operation failed; the exit code is
// still returned when the server reported one (127 for "Command not found"), else -1.
func (c *Client) ExecInstance(ctx context.Context, name string, req api.InstanceExecPost, args ExecArgs) (int, error) {
	req.WaitForWS = true
	if req.Environment == nil {
		req.Environment = map[string]string{}
	}
	op, err := c.operation(ctx, request{method: http.MethodPost, path: apiPath("/1.0/instances", name) + "/exec", body: req})
	if err != nil {
		return -1, err
	}
	conns, err := c.connectExec(ctx, op)
	if err != nil {
		return -1, err
	}
	defer conns.close()

	outputs := conns.relay(args, req.Interactive)
	waitErr := op.Wait(ctx)
	if ctx.Err() == nil {
		select {
		case <-outputs:
		case <-time.After(drainTimeout):
		}
	}
	code, ok := exitCode(op.Get())
	switch {
	case waitErr != nil:
		return code, waitErr
	case !ok:
		return -1, fmt.Errorf("exec in %s: the server reported no exit code", name)
	}
	return code, nil
}

// exitCode reads the operation's "return" metadata (a JSON number).
func exitCode(o api.Operation) (int, bool) {
	v, ok := o.Metadata["return"].(float64)
	if !ok {
		return -1, false
	}
	return int(v), true
}

// execConns are the websockets of one exec session, by fd name ("0", "1", "2", "control").
type execConns map[string]*websocket.Conn

// connectExec connects the sockets named in the operation's "fds", all at once: the server
// starts the command once the required set is connected, whatever the order, and each dial
// is a connection and an HTTP upgrade of its own (one after the other they were a quarter
// of a short exec's round trip).
func (c *Client) connectExec(ctx context.Context, op *Operation) (execConns, error) {
	fds, ok := op.Get().Metadata["fds"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("exec operation %s: no websockets in its metadata", op.ID())
	}
	path := apiPath("/1.0/operations", op.ID()) + "/websocket"
	names := []string{"control", "0", "1", "2"}
	dialed := make([]*websocket.Conn, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, fd := range names {
		secret, ok := fds[fd].(string)
		if !ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := c.dialWebsocket(ctx, path, url.Values{"secret": {secret}})
			if err != nil {
				err = fmt.Errorf("exec: connect %s stream: %w", fd, err)
			}
			dialed[i], errs[i] = conn, err
		}()
	}
	wg.Wait()
	conns := execConns{}
	for i, conn := range dialed {
		if conn != nil {
			conns[names[i]] = conn
		}
	}
	if err := errors.Join(errs...); err != nil {
		conns.close()
		return nil, err
	}
	if conns["0"] == nil {
		conns.close()
		return nil, errors.New("exec: the server offered no stdin stream")
	}
	return conns, nil
}

// relay starts the goroutines that move data; the returned channel is closed once every
// output stream has ended.
func (conns execConns) relay(args ExecArgs, interactive bool) <-chan struct{} {
	if ctl := conns["control"]; ctl != nil {
		go discardReads(ctl) // Reading processes the server's close and ping frames.
		if args.Control != nil {
			go args.Control(ctl)
		}
	}
	go sendStream(conns["0"], args.Stdin)

	var wg sync.WaitGroup
	copyOut := func(conn *websocket.Conn, w io.Writer) {
		if conn == nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			recvStream(conn, w)
		}()
	}
	if interactive {
		copyOut(conns["0"], args.Stdout)
	} else {
		copyOut(conns["1"], args.Stdout)
		copyOut(conns["2"], args.Stderr)
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

// close says goodbye on every socket and closes it.
func (conns execConns) close() {
	deadline := time.Now().Add(time.Second)
	for _, conn := range conns {
		_ = conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), deadline)
		_ = conn.Close()
	}
}

// sendStream copies r to the socket as binary frames and ends with an empty text frame.
func sendStream(conn *websocket.Conn, r io.Reader) {
	if r != nil {
		buf := make([]byte, 32*1024)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if conn.WriteMessage(websocket.BinaryMessage, buf[:n]) != nil {
					return
				}
			}
			if err != nil {
				break // EOF or a read error: either way the input has ended.
			}
		}
	}
	_ = conn.WriteMessage(websocket.TextMessage, []byte{})
}

// recvStream copies data frames to w until the end-of-stream frame, a close or an error.
func recvStream(conn *websocket.Conn, w io.Writer) {
	if w == nil {
		w = io.Discard
	}
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if kind == websocket.TextMessage && len(data) == 0 {
			return
		}
		// Keep draining after a failed write so the server is never blocked on us.
		_, _ = w.Write(data)
	}
}

// discardReads reads a socket until it fails.
func discardReads(conn *websocket.Conn) {
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			return
		}
	}
}
