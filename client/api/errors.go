package api

import (
	"errors"
	"net/http"
	"strings"
)

// Error kinds. Code wraps them with context (fmt.Errorf("instance %q: %w", name, ErrNotFound));
// the server maps the kind to an HTTP status in one place (StatusFor) and the client maps the
// status back (KindFor), so errors.Is works on both sides of the socket.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	ErrInvalid       = errors.New("invalid")
	ErrConflict      = errors.New("conflict")
	ErrForbidden     = errors.New("forbidden")
	ErrNotRunning    = errors.New("not running")
	ErrUnavailable   = errors.New("unavailable")
	ErrInternal      = errors.New("internal error")
)

// kinds lists each kind with its HTTP status. LXD answers "already exists" with 409 for
// aliases and 400 for profiles; 409 is used throughout so clients can tell it apart.
var kinds = []struct {
	err    error
	status int
}{
	{ErrNotFound, http.StatusNotFound},
	{ErrAlreadyExists, http.StatusConflict},
	{ErrConflict, http.StatusConflict},
	{ErrInvalid, http.StatusBadRequest},
	{ErrNotRunning, http.StatusBadRequest},
	{ErrForbidden, http.StatusForbidden},
	{ErrUnavailable, http.StatusServiceUnavailable},
}

// StatusFor returns the HTTP status for an error, from the first kind it wraps.
func StatusFor(err error) int {
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.status
		}
	}
	return http.StatusInternalServerError
}

// StatusError is an error received from the server: its message and HTTP status.
type StatusError struct {
	Status int
	Msg    string
}

func (e *StatusError) Error() string { return e.Msg }

// Is lets errors.Is(err, api.ErrNotFound) work on errors that came over the wire: it matches
// every kind the server maps to this status (409 is both ErrConflict and ErrAlreadyExists).
func (e *StatusError) Is(target error) bool {
	for _, k := range kinds {
		if k.err == target && k.status == e.Status {
			return true
		}
	}
	return KindFor(e.Status) == target
}

// KindFor maps an HTTP status back to the most likely kind.
func KindFor(status int) error {
	switch status {
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusConflict:
		return ErrConflict
	case http.StatusBadRequest:
		return ErrInvalid
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusServiceUnavailable:
		return ErrUnavailable
	}
	return ErrInternal
}

// Message is the text shown to users for err: the kind suffix (": not found") that serves
// errors.Is is dropped when the rest of the message already says it.
func Message(err error) string {
	msg := err.Error()
	for _, k := range kinds {
		if !errors.Is(err, k.err) {
			continue
		}
		suffix := ": " + k.err.Error()
		rest, ok := strings.CutSuffix(msg, suffix)
		if ok && strings.Contains(rest, k.err.Error()) {
			return rest
		}
	}
	return msg
}
