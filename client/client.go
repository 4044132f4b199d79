// Package client is the Go client of lited's LXD-style /1.0 API. It speaks HTTP and websockets
// over the daemon's unix socket, unwraps the response envelope, turns error replies into
// *api.StatusError (so errors.Is(err, api.ErrNotFound) works) and follows operations. It links
// no C and holds no state beyond the socket path: every call takes the context that bounds it
// (a cancelled context ends the request, a Wait, an exec or console session, an events stream).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"lite/client/api"
)

// DefaultDir is the daemon's state directory when LITE_DIR is not set.
const DefaultDir = "/var/lib/lite"

// host is the placeholder authority of every request: the socket decides where it goes.
const host = "unix.socket"

// DefaultSocket returns the socket path the CLI uses unless told otherwise:
// $LITE_DIR/unix.socket, with LITE_DIR defaulting to /var/lib/lite.
func DefaultSocket() string {
	dir := os.Getenv("LITE_DIR")
	if dir == "" {
		dir = DefaultDir
	}
	return filepath.Join(dir, "unix.socket")
}

// Client talks to one lited over its unix socket. It is safe for concurrent use.
type Client struct {
	socket string
	http   *http.Client
	ws     *websocket.Dialer
	header http.Header // extra headers of every request (WithHeader); nil: none
	// target is the cluster member new instances go to ("" lets the server place them).
	target string
}

// UseTarget returns a copy of the client whose instance creations (create, copy, import)
// carry ?target=name, so a cluster places the instance on that member (LXD's pattern). The
// copy shares the connection pool; name "" places by load again.
func (c *Client) UseTarget(name string) *Client {
	cp := *c
	cp.target = name
	return &cp
}

// targetQuery is the query of a request that creates an instance: ?target= when set.
func (c *Client) targetQuery() url.Values {
	if c.target == "" {
		return nil
	}
	return url.Values{"target": {c.target}}
}

// Connect returns a client for the daemon listening on socketPath. It dials the socket once so
// that a missing or dead daemon is reported here, with a hint on how to start it.
func Connect(socketPath string) (*Client, error) {
	conn, err := net.DialTimeout("unix", socketPath, 5*time.Second)
	if err != nil {
		return nil, dialError(socketPath, err)
	}
	_ = conn.Close() // A probe connection: nothing was sent, nothing can be lost.

	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "unix", socketPath)
		if err != nil {
			return nil, dialError(socketPath, err)
		}
		return conn, nil
	}
	return &Client{
		socket: socketPath,
		http: &http.Client{Transport: &http.Transport{
			DialContext:         dial,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
		}},
		ws: &websocket.Dialer{NetDialContext: dial, HandshakeTimeout: 5 * time.Second},
	}, nil
}

// SocketPath returns the socket this client talks to.
func (c *Client) SocketPath() string { return c.socket }

// dialError explains a failed connection to the socket in terms a user can act on. The
// error matches api.ErrUnavailable (or api.ErrForbidden) and wraps the system error.
func dialError(socket string, err error) error {
	switch {
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return &connError{kind: api.ErrForbidden, cause: err, msg: fmt.Sprintf(
			"cannot reach lited at %s: permission denied (run as root or as a member of the lite group)", socket)}
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOTSOCK):
		return &connError{kind: api.ErrUnavailable, cause: err, msg: fmt.Sprintf(
			"cannot reach lited at %s: is it running? start it with \"lited\" (or \"make demo\"), "+
				"or point LITE_DIR/--socket at its socket", socket)}
	}
	return &connError{kind: api.ErrUnavailable, cause: err, msg: fmt.Sprintf("cannot reach lited at %s: %v", socket, err)}
}

// connError is a failure to reach the daemon: a readable message, an error kind for
// errors.Is, and the system error underneath.
type connError struct {
	msg   string
	kind  error
	cause error
}

func (e *connError) Error() string        { return e.msg }
func (e *connError) Unwrap() error        { return e.cause }
func (e *connError) Is(target error) bool { return target == e.kind }

// request is one call to the API.
type request struct {
	method string
	path   string     // escaped path, from apiPath
	query  url.Values // may be nil
	body   any        // JSON-encoded when not nil
}

// apiPath builds an API path from literal segments and names; names are percent-encoded so
// "debian/12" stays one segment.
func apiPath(prefix string, names ...string) string {
	p := prefix
	for _, n := range names {
		p += "/" + url.PathEscape(n)
	}
	return p
}

// endpoint is the URL of an escaped API path on the socket.
func endpoint(scheme, path string, query url.Values) string {
	u := scheme + "://" + host + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// do sends a request and returns the decoded envelope of a successful reply. Error replies
// become *api.StatusError.
func (c *Client) do(ctx context.Context, r request) (*api.Response, error) {
	var body io.Reader
	if r.body != nil {
		buf, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", r.method, r.path, err)
		}
		body = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, endpoint("http", r.path, r.query), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // The URL is always unix.socket; it only adds noise.
		}
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	return parseResponse(resp)
}

// parseResponse decodes the envelope; any non-2xx status or error envelope is an error.
func parseResponse(resp *http.Response) (*api.Response, error) {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read reply to %s: %w", resp.Request.URL.Path, err)
	}
	var env api.Response
	jsonErr := json.Unmarshal(raw, &env)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || env.Type == api.ErrorResponse {
		status := resp.StatusCode
		if status >= 200 && status <= 299 {
			status = env.ErrorCode
		}
		msg := env.Error
		if jsonErr != nil || msg == "" {
			msg = fmt.Sprintf("failed to fetch %s: %s", resp.Request.URL.Path, resp.Status)
		}
		return nil, api.NewStatusError(status, env.ErrorKind, msg)
	}
	if jsonErr != nil {
		return nil, fmt.Errorf("decode reply to %s: %w", resp.Request.URL.Path, jsonErr)
	}
	return &env, nil
}

// get fetches path and decodes the sync reply's metadata into out.
func (c *Client) get(ctx context.Context, path string, query url.Values, out any) error {
	env, err := c.do(ctx, request{method: http.MethodGet, path: path, query: query})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(env.Metadata, out); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// operation sends a request that the server answers with an async operation.
func (c *Client) operation(ctx context.Context, r request) (*Operation, error) {
	env, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if env.Type != api.AsyncResponse {
		return nil, fmt.Errorf("%s %s: expected an operation, got a %q reply", r.method, r.path, env.Type)
	}
	var op api.Operation
	if err := json.Unmarshal(env.Metadata, &op); err != nil {
		return nil, fmt.Errorf("decode operation of %s %s: %w", r.method, r.path, err)
	}
	if op.ID == "" {
		return nil, fmt.Errorf("%s %s: operation without id", r.method, r.path)
	}
	return &Operation{c: c, op: op}, nil
}

// dialWebsocket opens a websocket on path (escaped) with the given query.
func (c *Client) dialWebsocket(ctx context.Context, path string, query url.Values) (*websocket.Conn, error) {
	conn, resp, err := c.ws.DialContext(ctx, endpoint("ws", path, query), c.header)
	if err != nil {
		if resp != nil {
			defer func() { _ = resp.Body.Close() }()
			if perr := responseError(resp); perr != nil {
				return nil, perr
			}
		}
		return nil, fmt.Errorf("websocket %s: %w", path, err)
	}
	return conn, nil
}

// responseError turns a refused websocket handshake into the server's error, if it sent one.
func responseError(resp *http.Response) error {
	if resp.Request == nil {
		resp.Request = &http.Request{URL: &url.URL{}}
	}
	_, err := parseResponse(resp)
	return err
}
