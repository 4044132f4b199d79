// Package api holds the wire types shared by lited, the Go client and the CLI. It follows LXD's
// /1.0 API: the same paths, JSON field names and sync/async envelope, so LXD's own clients work.
// It imports only the standard library.
package api

import (
	"encoding/json"
)

// ResponseType is the "type" field of the envelope.
type ResponseType string

// Envelope types, as in LXD.
const (
	SyncResponse  ResponseType = "sync"
	AsyncResponse ResponseType = "async"
	ErrorResponse ResponseType = "error"
)

// Response is the envelope every /1.0 endpoint answers with. ErrorKind is lite's addition to
// LXD's error envelope: the error's exact kind (KindName: "not-running", "already-exists"...),
// which error_code cannot tell apart. LXD's clients ignore it.
type Response struct {
	Type       ResponseType    `json:"type"`
	Status     string          `json:"status,omitempty"`
	StatusCode int             `json:"status_code,omitempty"`
	Operation  string          `json:"operation,omitempty"`
	ErrorCode  int             `json:"error_code"`
	Error      string          `json:"error"`
	ErrorKind  string          `json:"error_kind,omitempty"`
	Metadata   json.RawMessage `json:"metadata"`
}

// StatusCode values shared by operations and instances (LXD's numbering).
type StatusCode int

// LXD status codes.
const (
	OperationCreated StatusCode = 100
	Started          StatusCode = 101
	Stopped          StatusCode = 102
	Running          StatusCode = 103
	Cancelling       StatusCode = 104
	Pending          StatusCode = 105
	Starting         StatusCode = 106
	Stopping         StatusCode = 107
	Aborting         StatusCode = 108
	Freezing         StatusCode = 109
	Frozen           StatusCode = 110
	Thawed           StatusCode = 111
	Error            StatusCode = 112
	Ready            StatusCode = 113
	Success          StatusCode = 200
	Failure          StatusCode = 400
	Cancelled        StatusCode = 401
)

var statusNames = map[StatusCode]string{
	OperationCreated: "Operation created", Started: "Started", Stopped: "Stopped",
	Running: "Running", Cancelling: "Cancelling", Pending: "Pending", Starting: "Starting",
	Stopping: "Stopping", Aborting: "Aborting", Freezing: "Freezing", Frozen: "Frozen",
	Thawed: "Thawed", Error: "Error", Ready: "Ready", Success: "Success", Failure: "Failure",
	Cancelled: "Cancelled",
}

// String returns LXD's name for the code ("Running", "Success", ...).
func (c StatusCode) String() string { return statusNames[c] }

// IsFinal reports whether an operation with this status has ended.
func (c StatusCode) IsFinal() bool { return c >= 200 }
