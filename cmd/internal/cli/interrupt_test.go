package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// opServer is a daemon stand-in on a unix socket whose create operation runs until it is
// cancelled; it records the DELETE that cancels it.
type opServer struct {
	socket    string
	mayCancel bool

	mu        sync.Mutex
	cancelled []string
}

func newOpServer(t *testing.T, mayCancel bool) *opServer {
	t.Helper()
	dir, err := os.MkdirTemp("", "litecli") // t.TempDir() can exceed a socket path's 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &opServer{socket: filepath.Join(dir, "s"), mayCancel: mayCancel}
	op := api.Operation{ID: "op1", Description: "Creating instance", Status: "Running", StatusCode: api.Running, MayCancel: mayCancel}
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, code int, typ api.ResponseType, md any) {
		raw, _ := json.Marshal(md)
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(api.Response{Type: typ, StatusCode: code, Metadata: raw})
	}
	mux.HandleFunc("POST /1.0/instances", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusAccepted, api.AsyncResponse, op)
	})
	mux.HandleFunc("GET /1.0/operations/op1/wait", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never ends by itself
	})
	mux.HandleFunc("DELETE /1.0/operations/op1", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		s.cancelled = append(s.cancelled, "op1")
		s.mu.Unlock()
		reply(w, http.StatusOK, api.SyncResponse, map[string]any{})
	})
	ln, err := net.Listen("unix", s.socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *opServer) cancels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cancelled...)
}

// TestInterruptCancelsOperation: an interrupted wait cancels a cancellable operation on the
// server, says so, and exits 130.
func TestInterruptCancelsOperation(t *testing.T) {
	s := newOpServer(t, true)
	err := waitInterruptedBeforeProgress(t, s)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "operation op1 (Creating instance) cancelled") {
		t.Fatalf("Wait after interrupt = %v, want the cancelled operation named", err)
	}
	if got := s.cancels(); len(got) != 1 {
		t.Errorf("DELETE /1.0/operations/op1 sent %d times, want once", len(got))
	}
	var b bytes.Buffer
	if code := ExitCode(&b, err); code != 130 || !strings.HasPrefix(b.String(), "Error: interrupted: ") {
		t.Errorf("ExitCode = %d printing %q, want 130 and the interrupt", code, b.String())
	}
}

// TestInterruptLeavesUncancellableOperation: an operation the server does not let clients
// cancel is left alone, and the user is told it goes on.
func TestInterruptLeavesUncancellableOperation(t *testing.T) {
	s := newOpServer(t, false)
	err := waitInterruptedBeforeProgress(t, s)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "goes on in the daemon") {
		t.Fatalf("Wait after interrupt = %v, want the operation said to go on", err)
	}
	if got := s.cancels(); len(got) != 0 {
		t.Errorf("an uncancellable operation was cancelled: %v", got)
	}
}

// waitInterruptedBeforeProgress starts the create operation (which the server never ends) and
// waits for it with a context already cancelled, as after Ctrl-C.
func waitInterruptedBeforeProgress(t *testing.T, s *opServer) error {
	t.Helper()
	c, err := client.Connect(s.socket)
	if err != nil {
		t.Fatal(err)
	}
	op, err := Remote(c).CreateInstance(t.Context(), api.InstancesPost{Name: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = op.Wait(ctx, nil)
	return err
}
