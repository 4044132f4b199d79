package test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"lite/client"
	"lite/client/api"
)

// wireKinds are the kinds lited names on the wire (error_kind, err_kind).
var wireKinds = []error{api.ErrNotFound, api.ErrAlreadyExists, api.ErrConflict, api.ErrInvalid,
	api.ErrNotRunning, api.ErrForbidden, api.ErrUnavailable, api.ErrInternal}

// onlyKind fails unless err is of kind want and of no other kind: 409 and 400 are each
// shared by two kinds, which only error_kind tells apart.
func onlyKind(t *testing.T, what string, err, want error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want one of kind %v", what, want)
		return
	}
	for _, k := range wireKinds {
		if is := errors.Is(err, k); is != (k == want) {
			t.Errorf("%s: %v: errors.Is(err, %v) = %v, want kind %v only", what, err, k, is, want)
		}
	}
}

// TestErrors drives a real lited through the Go client: each refusal reaches the client with
// its exact kind, in direct replies and in failed operations, and the CLI prints one line.
func TestErrors(t *testing.T) {
	d := sharedDaemon(t)
	c := d.Client(t)
	ctx := context.Background()
	deleteOnCleanup(t, d, "errk1", "errk2")
	mustLite(t, d, "init", "debian/12", "errk1")

	t.Run("not running", func(t *testing.T) {
		_, err := c.ExecInstance(t.Context(), "errk1", api.InstanceExecPost{Command: []string{"true"}}, client.ExecArgs{})
		onlyKind(t, "exec in a stopped instance", err, api.ErrNotRunning)
		for _, action := range []string{"stop", "freeze"} {
			op, err := c.UpdateInstanceState(t.Context(), "errk1", api.InstanceStatePut{Action: action, Force: true})
			if err == nil {
				err = op.Wait(ctx)
			}
			onlyKind(t, action+" of a stopped instance", err, api.ErrNotRunning)
		}
		_, stderr, code := d.Lite("exec", "errk1", "--", "true")
		oneLineError(t, "lite exec in a stopped instance", stderr, code, `"errk1" is not running`)
	})

	t.Run("already exists", func(t *testing.T) {
		src := api.InstanceSource{Type: "image", Alias: "debian/12"}
		_, err := c.CreateInstance(t.Context(), api.InstancesPost{Name: "errk1", Source: src})
		onlyKind(t, "create of a taken name", err, api.ErrAlreadyExists)

		// A create cut short by a crash leaves a directory without a database row (the next
		// start of lited removes it). Until then that name is taken: a 409, not a 500.
		ghost := filepath.Join(d.Dir, "containers", "errk2")
		if err := os.MkdirAll(filepath.Join(ghost, "keep"), 0o700); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := os.RemoveAll(ghost); err != nil {
				t.Errorf("remove %s: %v", ghost, err)
			}
		})
		op, err := c.CreateInstance(t.Context(), api.InstancesPost{Name: "errk2", Source: src})
		if err == nil {
			err = op.Wait(ctx)
		}
		onlyKind(t, "create over a leftover directory", err, api.ErrAlreadyExists)
		if _, err := os.Stat(filepath.Join(ghost, "keep")); err != nil {
			t.Errorf("the leftover directory was touched: %v", err)
		}
		if st := status(t, d, "errk2"); st != "" {
			t.Errorf("the failed create left instance errk2 (%s)", st)
		}
		_, stderr, code := d.Lite("init", "debian/12", "errk2")
		oneLineError(t, "lite init over a leftover directory", stderr, code, `already exists`)
	})

	t.Run("not found", func(t *testing.T) {
		_, err := c.GetInstance(t.Context(), "errk-nosuch")
		onlyKind(t, "get of a missing instance", err, api.ErrNotFound)
	})
}
