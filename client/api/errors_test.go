package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestStatusFor(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{ErrNotFound, http.StatusNotFound},
		{ErrAlreadyExists, http.StatusConflict},
		{ErrConflict, http.StatusConflict},
		{ErrInvalid, http.StatusBadRequest},
		{ErrNotRunning, http.StatusBadRequest},
		{ErrForbidden, http.StatusForbidden},
		{ErrUnavailable, http.StatusServiceUnavailable},
		{ErrInternal, http.StatusInternalServerError},
		{errors.New("boom"), http.StatusInternalServerError},
		{nil, http.StatusInternalServerError},
		// Kinds keep working through layers of context.
		{fmt.Errorf("instance %q: %w", "c1", ErrNotFound), http.StatusNotFound},
		{fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", ErrForbidden)), http.StatusForbidden},
		{fmt.Errorf("a: %w", errors.Join(errors.New("x"), ErrAlreadyExists)), http.StatusConflict},
	}
	for _, tt := range tests {
		if got := StatusFor(tt.err); got != tt.want {
			t.Errorf("StatusFor(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestKindFor(t *testing.T) {
	tests := []struct {
		status int
		want   error
	}{
		{http.StatusNotFound, ErrNotFound},
		{http.StatusConflict, ErrConflict},
		{http.StatusBadRequest, ErrInvalid},
		{http.StatusForbidden, ErrForbidden},
		{http.StatusServiceUnavailable, ErrUnavailable},
		{http.StatusInternalServerError, ErrInternal},
		{http.StatusTeapot, ErrInternal},
		{0, ErrInternal},
	}
	for _, tt := range tests {
		if got := KindFor(tt.status); got != tt.want {
			t.Errorf("KindFor(%d) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

// Every status the server can send maps back to a kind that maps to the same status, so a
// round trip over the wire never changes the HTTP code.
func TestStatusKindRoundTrip(t *testing.T) {
	for _, k := range kinds {
		if got := StatusFor(KindFor(k.status)); got != k.status {
			t.Errorf("StatusFor(KindFor(%d)) = %d", k.status, got)
		}
	}
}

func TestStatusErrorIs(t *testing.T) {
	err := &StatusError{Status: 404, Msg: "Instance not found"}
	if !errors.Is(err, ErrNotFound) {
		t.Error("errors.Is(StatusError{404}, ErrNotFound) = false")
	}
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrInternal) {
		t.Error("a 404 matches another kind")
	}
	if err.Error() != "Instance not found" {
		t.Errorf("Error() = %q", err.Error())
	}
	wrapped := fmt.Errorf("start c1: %w", &StatusError{Status: 409, Msg: "busy"})
	if !errors.Is(wrapped, ErrConflict) {
		t.Error("wrapped StatusError{409} is not ErrConflict")
	}
	var se *StatusError
	if !errors.As(wrapped, &se) || se.Status != 409 {
		t.Errorf("errors.As = %v", se)
	}
	for status, kind := range map[int]error{400: ErrInvalid, 403: ErrForbidden, 503: ErrUnavailable, 500: ErrInternal} {
		if !errors.Is(&StatusError{Status: status}, kind) {
			t.Errorf("StatusError{%d} is not %v", status, kind)
		}
	}
}

// Every kind has its own wire name, and the name maps back to exactly that kind.
func TestKindNames(t *testing.T) {
	seen := map[string]error{}
	for _, k := range kinds {
		name := KindName(fmt.Errorf("instance %q: %w", "c1", k.err))
		if name != k.name || name == "" {
			t.Errorf("KindName(wrapped %v) = %q, want %q", k.err, name, k.name)
		}
		if other, dup := seen[name]; dup {
			t.Errorf("kinds %v and %v share the wire name %q", other, k.err, name)
		}
		seen[name] = k.err
		if got := KindNamed(name); got != k.err {
			t.Errorf("KindNamed(%q) = %v, want %v", name, got, k.err)
		}
	}
	if got := KindName(errors.New("boom")); got != "internal" {
		t.Errorf("KindName(error without kind) = %q, want internal (it is answered with 500)", got)
	}
	for _, name := range []string{"", "running", "Not-Found", "not found"} {
		if got := KindNamed(name); got != nil {
			t.Errorf("KindNamed(%q) = %v, want nil", name, got)
		}
	}
}

// The wire round trip of every kind: the server encodes the error envelope (StatusFor,
// KindName), the client decodes it (NewStatusError), and errors.Is then matches that kind and
// no other, also the kind that shares its status.
func TestKindWireRoundTrip(t *testing.T) {
	for _, k := range kinds {
		sent := fmt.Errorf("instance %q: %w", "c1", k.err)
		raw, err := json.Marshal(Response{Type: ErrorResponse, Error: Message(sent), ErrorCode: StatusFor(sent),
			ErrorKind: KindName(sent), Metadata: json.RawMessage("null")})
		if err != nil {
			t.Fatal(err)
		}
		var env Response
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		got := NewStatusError(env.ErrorCode, env.ErrorKind, env.Error)
		if got.Status != k.status || got.Kind != k.err {
			t.Errorf("%s: decoded status %d kind %v, want %d %v", raw, got.Status, got.Kind, k.status, k.err)
		}
		for _, other := range kinds {
			if is := errors.Is(fmt.Errorf("wrapped: %w", got), other.err); is != (other.err == k.err) {
				t.Errorf("sent %v (%d): errors.Is(received, %v (%d)) = %v", k.err, k.status, other.err, other.status, is)
			}
		}
	}
}

// Kinds that share a status are the reason for error_kind: the test above would pass
// vacuously if no two kinds did.
func TestKindsSharingAStatus(t *testing.T) {
	pairs := [][2]error{{ErrAlreadyExists, ErrConflict}, {ErrNotRunning, ErrInvalid}}
	for _, p := range pairs {
		if StatusFor(p[0]) != StatusFor(p[1]) {
			t.Fatalf("%v and %v no longer share a status: update this test", p[0], p[1])
		}
		a := NewStatusError(StatusFor(p[0]), KindName(p[0]), "x")
		if !errors.Is(a, p[0]) || errors.Is(a, p[1]) {
			t.Errorf("%v sent by name: Is(%v) = %v, Is(%v) = %v", p[0], p[0], errors.Is(a, p[0]), p[1], errors.Is(a, p[1]))
		}
	}
}

// A server that names no kind (LXD), or one this client does not know, leaves only the
// status: every kind with that status matches, as before error_kind existed.
func TestStatusErrorWithoutKind(t *testing.T) {
	for _, name := range []string{"", "some-newer-kind"} {
		err := NewStatusError(http.StatusBadRequest, name, "Instance is not running")
		if err.Kind != nil {
			t.Fatalf("NewStatusError(400, %q).Kind = %v, want nil", name, err.Kind)
		}
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrNotRunning) || errors.Is(err, ErrNotFound) {
			t.Errorf("kind %q: a 400 without a known kind must match ErrInvalid and ErrNotRunning only", name)
		}
	}
}

// The error envelope carries error_kind beside LXD's fields; other replies do not.
func TestErrorKindOnTheWire(t *testing.T) {
	b, err := json.Marshal(Response{Type: ErrorResponse, Error: "instance \"c1\" is not running", ErrorCode: 400,
		ErrorKind: KindName(ErrNotRunning), Metadata: json.RawMessage("null")})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"error","error_code":400,"error":"instance \"c1\" is not running","error_kind":"not-running","metadata":null}`
	if string(b) != want {
		t.Errorf("error envelope = %s, want %s", b, want)
	}
	b, err = json.Marshal(Response{Type: SyncResponse, Status: "Success", StatusCode: 200, Metadata: json.RawMessage("{}")})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "error_kind") {
		t.Errorf("sync reply carries error_kind: %s", b)
	}
}
