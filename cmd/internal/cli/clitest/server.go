package clitest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"lite/client"
	"lite/client/api"
)

// Server is a fake lited for the commands that take the real API client: a unix socket
// serving Mux, with the operation endpoints already there. Handlers reply with Sync, Async or
// Fail; every request is recorded.
type Server struct {
	// Mux serves the test's endpoints ("POST /1.0/instances", ...).
	Mux *http.ServeMux

	socket string
	mu     sync.Mutex
	calls  []string
	ops    map[string]api.Operation // final states, by id
	nextID int
}

// NewServer starts a fake daemon, stopped when the test ends.
func NewServer(t *testing.T) *Server {
	t.Helper()
	dir, err := os.MkdirTemp("", "liteclitest") // t.TempDir() can exceed a socket path's 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &Server{Mux: http.NewServeMux(), socket: filepath.Join(dir, "s"), ops: map[string]api.Operation{}}
	s.Mux.HandleFunc("GET /1.0/operations/{id}/wait", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		op, ok := s.ops[r.PathValue("id")]
		s.mu.Unlock()
		if !ok {
			Fail(w, http.StatusNotFound, "Operation not found")
			return
		}
		Sync(w, op)
	})
	s.Mux.HandleFunc("DELETE /1.0/operations/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		op, ok := s.ops[r.PathValue("id")]
		if ok {
			op.StatusCode, op.Status, op.Err = api.Cancelled, api.Cancelled.String(), "operation cancelled"
			s.ops[op.ID] = op
		}
		s.mu.Unlock()
		if !ok {
			Fail(w, http.StatusNotFound, "Operation not found")
			return
		}
		Sync(w, map[string]any{})
	})
	ln, err := net.Listen("unix", s.socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		following := r.Method == http.MethodGet && (strings.HasPrefix(r.URL.Path, "/1.0/operations/") || r.URL.Path == "/1.0/events")
		if !following {
			call := r.Method + " " + r.URL.Path
			if r.URL.RawQuery != "" {
				call += "?" + r.URL.RawQuery
			}
			s.mu.Lock()
			s.calls = append(s.calls, call)
			s.mu.Unlock()
		}
		s.Mux.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Client returns a real API client connected to the server.
func (s *Server) Client(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.Connect(s.socket)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// CallLog returns the requests served so far (following operations left out), one per line, as
// "METHOD /path?query".
func (s *Server) CallLog() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.calls, "\n")
}

// Async answers with a new operation that ends as final (api.Success unless final says
// otherwise), for the client to wait on. A final state of api.Running never ends, unless a
// client cancels the operation (DELETE /1.0/operations/{id}).
func (s *Server) Async(w http.ResponseWriter, final api.Operation) {
	s.mu.Lock()
	s.nextID++
	final.ID = fmt.Sprintf("op%d", s.nextID)
	if final.StatusCode == 0 {
		final.StatusCode = api.Success
	}
	final.Status = final.StatusCode.String()
	s.ops[final.ID] = final
	s.mu.Unlock()
	running := final
	running.StatusCode, running.Status, running.Err = api.Running, api.Running.String(), ""
	reply(w, http.StatusAccepted, api.Response{Type: api.AsyncResponse, StatusCode: int(api.OperationCreated),
		Operation: "/1.0/operations/" + final.ID}, running)
}

// Sync answers 200 with metadata md.
func Sync(w http.ResponseWriter, md any) {
	reply(w, http.StatusOK, api.Response{Type: api.SyncResponse, StatusCode: int(api.Success)}, md)
}

// Fail answers with an error envelope.
func Fail(w http.ResponseWriter, status int, msg string) {
	reply(w, status, api.Response{Type: api.ErrorResponse, ErrorCode: status, Error: msg}, nil)
}

func reply(w http.ResponseWriter, status int, env api.Response, md any) {
	if md != nil {
		raw, err := json.Marshal(md)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		env.Metadata = raw
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(env)
}
