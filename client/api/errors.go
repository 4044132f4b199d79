package api

import (
	"errors"
	"net/http"
	"strings"
)

// Error kinds. Code wraps them with context (fmt.Errorf("instance %q: %w", name, ErrNotFound));
// the server maps the kind to an HTTP status in one place (StatusFor) and sends its name too
// (KindName, the error_kind field of the error envelope); the client maps the name back
// (KindNamed), or the status (KindFor) for a server that sends no name, so errors.Is works on
// both sides of the socket.
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

// kinds lists each kind with its HTTP status and its name on the wire. LXD answers "already
// exists" with 409 for aliases and 400 for profiles; 409 is used throughout so clients can tell
// it apart. Two kinds share 409 and two share 400: only the name tells them apart on the wire.
var kinds = []struct {
	err    error
	status int
	name   string
}{
	{ErrNotFound, http.StatusNotFound, "not-found"},
	{ErrAlreadyExists, http.StatusConflict, "already-exists"},
	{ErrConflict, http.StatusConflict, "conflict"},
	{ErrInvalid, http.StatusBadRequest, "invalid"},
	{ErrNotRunning, http.StatusBadRequest, "not-running"},
	{ErrForbidden, http.StatusForbidden, "forbidden"},
	{ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
	{ErrInternal, http.StatusInternalServerError, "internal"},
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

// KindName returns the wire name of the first kind err wraps (the one StatusFor reads), or
// "internal" for an error without a kind, as it is answered with 500.
func KindName(err error) string {
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "internal"
}

// KindNamed returns the kind with this wire name, or nil for an empty name (LXD sends none)
// or one this side does not know (a newer server's).
func KindNamed(name string) error {
	for _, k := range kinds {
		if k.name == name {
			return k.err
		}
	}
	return nil
}

// StatusError is an error received from the server: its message, HTTP status and, when the
// server named it, its exact kind.
type StatusError struct {
	Status int
	// Kind is the kind the server named in error_kind; nil if it named none (an LXD server)
	// or one this client does not know.
	Kind error
	Msg  string
}

// NewStatusError is the error for a reply with this status, error_kind and message.
func NewStatusError(status int, kindName, msg string) *StatusError {
	return &StatusError{Status: status, Kind: KindNamed(kindName), Msg: msg}
}

func (e *StatusError) Error() string { return e.Msg }

// Is lets errors.Is(err, api.ErrNotFound) work on errors that came over the wire. A named kind
// matches exactly that kind. Without one only the status is known, so it matches every kind
// the server maps to this status (409 is both ErrConflict and ErrAlreadyExists).
func (e *StatusError) Is(target error) bool {
	if e.Kind != nil {
		return target == e.Kind
	}
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
