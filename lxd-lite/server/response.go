package server

import (
	"encoding/json"
	"fmt"
	"net/http"

	"lite/client/api"
	"lite/lxd-lite/operations"
)

// Response is what a handler returns; one adapter renders it.
type Response interface {
	Render(w http.ResponseWriter) error
}

type syncResponse struct {
	status   int
	location string
	metadata any
}

// Sync answers 200 with metadata.
func Sync(metadata any) Response { return syncResponse{status: http.StatusOK, metadata: metadata} }

// Created answers 201 with a Location, as LXD does for sync creates.
func Created(location string) Response {
	return syncResponse{status: http.StatusCreated, location: location, metadata: map[string]any{}}
}

// EmptySync answers 200 with empty metadata.
func EmptySync() Response { return syncResponse{status: http.StatusOK, metadata: map[string]any{}} }

func (s syncResponse) Render(w http.ResponseWriter) error {
	md, err := json.Marshal(s.metadata)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	if s.location != "" {
		w.Header().Set("Location", s.location)
	}
	return writeJSON(w, s.status, api.Response{Type: api.SyncResponse, Status: api.Success.String(), StatusCode: int(api.Success), Metadata: md})
}

type asyncResponse struct{ op *operations.Op }

// Async answers 202 with the operation and its Location.
func Async(op *operations.Op) Response { return asyncResponse{op} }

func (a asyncResponse) Render(w http.ResponseWriter) error {
	md, err := json.Marshal(a.op.Render())
	if err != nil {
		return err
	}
	w.Header().Set("Location", a.op.URL())
	return writeJSON(w, http.StatusAccepted, api.Response{
		Type: api.AsyncResponse, Status: api.OperationCreated.String(), StatusCode: int(api.OperationCreated),
		Operation: a.op.URL(), Metadata: md,
	})
}

type errorResponse struct{ err error }

// Error answers with the HTTP status of the error's kind, and names the kind (error_kind) so
// clients can tell apart kinds that share a status.
func Error(err error) Response { return errorResponse{err} }

// Errorf is Error with a formatted message wrapping kind.
func Errorf(kind error, format string, args ...any) Response {
	return errorResponse{fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), kind)}
}

func (e errorResponse) Render(w http.ResponseWriter) error {
	code := api.StatusFor(e.err)
	return writeJSON(w, code, api.Response{
		Type: api.ErrorResponse, Error: api.Message(e.err), ErrorCode: code, ErrorKind: api.KindName(e.err),
		Metadata: json.RawMessage("null"),
	})
}

// Manual lets a handler write the reply itself (websocket upgrades, raw files).
type Manual func(w http.ResponseWriter) error

// Render calls the function.
func (m Manual) Render(w http.ResponseWriter) error { return m(w) }

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}
