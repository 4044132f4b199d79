package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"lite/client/api"
)

// kindsUnderTest are all the kinds a lite server names in error_kind.
var kindsUnderTest = []error{api.ErrNotFound, api.ErrAlreadyExists, api.ErrConflict, api.ErrInvalid,
	api.ErrNotRunning, api.ErrForbidden, api.ErrUnavailable, api.ErrInternal}

// The client reads error_kind from error replies: errors.Is matches exactly the kind the
// server named, never another kind with the same status.
func TestErrorKindFromReply(t *testing.T) {
	d := newFakeDaemon(t)
	d.mux.HandleFunc("GET /1.0/instances/{name}", func(w http.ResponseWriter, r *http.Request) {
		kind := api.KindNamed(r.PathValue("name"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(api.StatusFor(kind))
		_ = json.NewEncoder(w).Encode(api.Response{Type: api.ErrorResponse, Error: "refused: " + kind.Error(),
			ErrorCode: api.StatusFor(kind), ErrorKind: r.PathValue("name"), Metadata: json.RawMessage("null")})
	})
	c := d.client()
	for _, kind := range kindsUnderTest {
		_, err := c.GetInstance(t.Context(), api.KindName(kind))
		if err == nil || err.Error() != "refused: "+kind.Error() {
			t.Fatalf("GetInstance(%s) = %v", api.KindName(kind), err)
		}
		for _, other := range kindsUnderTest {
			if is := errors.Is(err, other); is != (other == kind) {
				t.Errorf("server sent %v: errors.Is(err, %v) = %v", kind, other, is)
			}
		}
	}
}

// A failed operation keeps the kind the server named in err_kind; without one (LXD) it is
// only its message, as before.
func TestOperationErrorKind(t *testing.T) {
	d := newFakeDaemon(t)
	launchFixture(t, d)
	c := d.client()
	for _, kind := range kindsUnderTest {
		op, err := c.CreateInstance(t.Context(), api.InstancesPost{Name: "c1"})
		if err != nil {
			t.Fatal(err)
		}
		d.setOp(api.Operation{ID: "op1", StatusCode: api.Failure, Err: "failed: " + kind.Error(), ErrKind: api.KindName(kind)})
		err = op.Wait(context.Background())
		if err == nil || err.Error() != "failed: "+kind.Error() {
			t.Fatalf("Wait() = %v", err)
		}
		for _, other := range kindsUnderTest {
			if is := errors.Is(err, other); is != (other == kind) {
				t.Errorf("operation failed with %v: errors.Is(err, %v) = %v", kind, other, is)
			}
		}
	}
	op, err := c.CreateInstance(t.Context(), api.InstancesPost{Name: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	d.setOp(api.Operation{ID: "op1", StatusCode: api.Failure, Err: "Instance is not running"})
	err = op.Wait(context.Background())
	var se *api.StatusError
	if err == nil || errors.As(err, &se) {
		t.Errorf("Wait() of an operation without err_kind = %#v, want a plain error", err)
	}
}
