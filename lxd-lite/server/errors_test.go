package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lite/client"
	"lite/client/api"
	"lite/lxd-lite/server"
)

// allKinds are the kinds the server names in error_kind and err_kind.
var allKinds = []error{api.ErrNotFound, api.ErrAlreadyExists, api.ErrConflict, api.ErrInvalid,
	api.ErrNotRunning, api.ErrForbidden, api.ErrUnavailable, api.ErrInternal}

// assertKind fails unless err is of kind want and of no other kind (kinds share statuses).
func assertKind(t *testing.T, what string, err, want error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want one of kind %v", what, want)
		return
	}
	for _, k := range allKinds {
		if is := errors.Is(err, k); is != (k == want) {
			t.Errorf("%s: %v: errors.Is(err, %v) = %v, want kind %v only", what, err, k, is, want)
		}
	}
}

func connect(t *testing.T, socket string) *client.Client {
	t.Helper()
	c, err := client.Connect(socket)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Every kind goes server -> wire -> client intact: the error adapter renders the kind's status
// and name, and the real client's errors.Is matches that kind and no other.
func TestErrorKindsRoundTrip(t *testing.T) {
	dir, err := os.MkdirTemp("", "lite-kinds") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	socket := filepath.Join(dir, "unix.socket")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /1.0/instances/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		err := fmt.Errorf("instance %q: %w", name, api.KindNamed(name))
		if name == "plain" {
			err = errors.New("an error without a kind")
		}
		_ = server.Error(err).Render(w)
	})
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	c := connect(t, socket)
	for _, kind := range allKinds {
		_, err := c.GetInstance(t.Context(), api.KindName(kind))
		assertKind(t, "GET "+api.KindName(kind), err, kind)
		var se *api.StatusError
		if !errors.As(err, &se) || se.Status != api.StatusFor(kind) {
			t.Errorf("%v: status %v, want %d", kind, se, api.StatusFor(kind))
		}
	}
	_, err = c.GetInstance(t.Context(), "plain")
	assertKind(t, "an error without a kind", err, api.ErrInternal)
}

// "Not running" is one kind (ErrNotRunning, not ErrInvalid) at every source, in direct replies
// and in failed operations, as the client sees it.
func TestNotRunningKind(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	c := connect(t, e.socket)

	_, err := c.ExecInstance(t.Context(), "c1", api.InstanceExecPost{Command: []string{"true"}}, client.ExecArgs{})
	assertKind(t, "exec in a stopped instance", err, api.ErrNotRunning)
	err = c.ConsoleInstance(t.Context(), "c1", api.InstanceConsolePost{}, client.ConsoleArgs{})
	assertKind(t, "console of a stopped instance", err, api.ErrNotRunning)
	for _, action := range []string{"stop", "freeze", "unfreeze"} {
		op, err := c.UpdateInstanceState(t.Context(), "c1", api.InstanceStatePut{Action: action, Force: true})
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		err = op.Wait(context.Background())
		assertKind(t, action+" of a stopped instance", err, api.ErrNotRunning)
		if err != nil && !strings.Contains(err.Error(), "c1") {
			t.Errorf("%s: message %q does not name the instance", action, err)
		}
	}
	// The same endpoint still answers a bad request with ErrInvalid: the kinds stay apart.
	_, err = c.ExecInstance(t.Context(), "c1", api.InstanceExecPost{}, client.ExecArgs{})
	assertKind(t, "exec without a command", err, api.ErrInvalid)

	// On the wire, for clients other than lite's: 400 (as LXD) with error_kind not-running.
	status, env, err := e.try("POST", "/1.0/instances/c1/exec", map[string]any{"command": []string{"true"}})
	if err != nil || status != http.StatusBadRequest || env.ErrorCode != 400 || env.ErrorKind != "not-running" {
		t.Errorf("exec in a stopped instance: HTTP %d %+v (%v), want 400 not-running", status, env, err)
	}
}

// A container directory that exists without an instance (what a crash can leave) makes a
// create or rename fail with ErrAlreadyExists (409), not a 500, and is left alone.
func TestStorageAlreadyExistsKind(t *testing.T) {
	e := newEnv(t)
	c := connect(t, e.socket)
	for _, name := range []string{"c2", "c3"} {
		if err := os.MkdirAll(filepath.Join(e.pool, name, "keep"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	op, err := c.CreateInstance(t.Context(), api.InstancesPost{Name: "c2", Source: api.InstanceSource{Type: "image", Fingerprint: testFP}})
	if err != nil {
		t.Fatal(err)
	}
	err = op.Wait(context.Background())
	assertKind(t, "create over a leftover directory", err, api.ErrAlreadyExists)
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Errorf("create: message %q does not say what is wrong", err)
	}
	_, err = c.GetInstance(t.Context(), "c2")
	assertKind(t, "the instance of the failed create", err, api.ErrNotFound)

	e.create("c1", nil)
	op, err = c.RenameInstance(t.Context(), "c1", api.InstancePost{Name: "c3"})
	if err != nil {
		t.Fatal(err)
	}
	assertKind(t, "rename onto a leftover directory", op.Wait(context.Background()), api.ErrAlreadyExists)
	if _, err := c.GetInstance(t.Context(), "c1"); err != nil {
		t.Errorf("c1 after the failed rename: %v", err)
	}
	for _, name := range []string{"c2", "c3"} {
		if _, err := os.Stat(filepath.Join(e.pool, name, "keep")); err != nil {
			t.Errorf("the leftover directory %s was touched: %v", name, err)
		}
	}
}
