package api

import "time"

// Operation classes.
const (
	OperationClassTask      = "task"
	OperationClassWebsocket = "websocket"
	OperationClassToken     = "token"
)

// Operation is a long-running task (GET /1.0/operations/{id}). ErrKind is lite's addition: the
// kind of Err (KindName), as error_kind in the error envelope.
type Operation struct {
	ID          string              `json:"id"`
	Class       string              `json:"class"`
	Description string              `json:"description"`
	CreatedAt   time.Time           `json:"created_at"`
	UpdatedAt   time.Time           `json:"updated_at"`
	Status      string              `json:"status"`
	StatusCode  StatusCode          `json:"status_code"`
	Resources   map[string][]string `json:"resources"`
	Metadata    map[string]any      `json:"metadata"`
	MayCancel   bool                `json:"may_cancel"`
	Err         string              `json:"err"`
	ErrKind     string              `json:"err_kind,omitempty"`
	Location    string              `json:"location"`
}

// Event is one frame of GET /1.0/events.
type Event struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Location  string    `json:"location"`
	Project   string    `json:"project"`
	Metadata  any       `json:"metadata"`
}

// Event types.
const (
	EventTypeOperation = "operation"
	EventTypeLifecycle = "lifecycle"
	EventTypeLogging   = "logging"
)

// EventLifecycle is the metadata of a lifecycle event.
type EventLifecycle struct {
	Action    string         `json:"action"`
	Source    string         `json:"source"`
	Context   map[string]any `json:"context"`
	Requestor map[string]any `json:"requestor,omitempty"`
}
