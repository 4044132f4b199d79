package api

import (
	"errors"
	"fmt"
	"net/http"
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
