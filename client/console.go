package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/gorilla/websocket"

	"lite/client/api"
)

// ConsoleArgs are the local ends of a console session.
type ConsoleArgs struct {
	// Terminal input; the session ends when it returns EOF (the CLI's detach key does that).
	In  io.Reader
	Out io.Writer
	// Control, when set, gets the control websocket (to send window-resize messages).
	Control func(conn *websocket.Conn)
}

// ConsoleInstance attaches to an instance's console until In ends, the console closes or ctx
// is done.
func (c *Client) ConsoleInstance(ctx context.Context, name string, req api.InstanceConsolePost, args ConsoleArgs) error {
	if req.Type == "" {
		req.Type = "console"
	}
	op, err := c.operation(ctx, request{method: http.MethodPost, path: apiPath("/1.0/instances", name) + "/console", body: req})
	if err != nil {
		return err
	}
	fds, ok := op.Get().Metadata["fds"].(map[string]any)
	if !ok {
		return fmt.Errorf("console operation %s: no websockets in its metadata", op.ID())
	}
	path := apiPath("/1.0/operations", op.ID()) + "/websocket"
	conns := execConns{}
	defer conns.close()
	for _, fd := range []string{"control", "0"} {
		secret, _ := fds[fd].(string)
		conn, err := c.dialWebsocket(ctx, path, url.Values{"secret": {secret}})
		if err != nil {
			return fmt.Errorf("console: connect %s stream: %w", fd, err)
		}
		conns[fd] = conn
	}
	go discardReads(conns["control"])
	if args.Control != nil {
		go args.Control(conns["control"])
	}
	out := make(chan struct{})
	go func() {
		recvStream(conns["0"], args.Out)
		close(out)
	}()
	in := make(chan struct{})
	go func() {
		sendStream(conns["0"], args.In)
		close(in)
	}()
	select {
	case <-in: // detached
	case <-out: // the console went away
	case <-ctx.Done(): // interrupted
	}
	conns.close()
	return op.Wait(ctx)
}

// GetInstanceConsoleLog returns what the instance's console printed.
func (c *Client) GetInstanceConsoleLog(ctx context.Context, name string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint("http", apiPath("/1.0/instances", name)+"/console", nil), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, err := parseResponse(resp)
		return nil, err
	}
	return io.ReadAll(resp.Body)
}
