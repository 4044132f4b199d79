package client

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"lite/client/api"
)

// fakeDaemon is a tiny lited stand-in on a temp unix socket: the envelope, operations with
// /wait and events, and whatever handlers a test adds to mux.
type fakeDaemon struct {
	t      *testing.T
	socket string
	mux    *http.ServeMux

	mu      sync.Mutex
	ops     map[string]api.Operation
	changed chan struct{} // closed and replaced on every operation change
	subs    map[chan api.Event]bool

	noEvents    bool // /1.0/events answers 404
	waitNoFinal bool // /wait never reports a final state (only events do)
	waitCalls   []string
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func newFakeDaemon(t *testing.T) *fakeDaemon {
	t.Helper()
	// Unix socket paths are limited to 108 bytes; t.TempDir() can exceed that.
	dir, err := os.MkdirTemp("", "litec")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	d := &fakeDaemon{
		t: t, socket: filepath.Join(dir, "unix.socket"), mux: http.NewServeMux(),
		ops: map[string]api.Operation{}, changed: make(chan struct{}), subs: map[chan api.Event]bool{},
	}
	ln, err := net.Listen("unix", d.socket)
	if err != nil {
		t.Fatal(err)
	}
	d.mux.HandleFunc("GET /1.0/operations/{id}", d.getOperation)
	d.mux.HandleFunc("GET /1.0/operations/{id}/wait", d.waitOperation)
	d.mux.HandleFunc("GET /1.0/events", d.events)
	srv := &http.Server{Handler: d.mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return d
}

func (d *fakeDaemon) client() *Client {
	d.t.Helper()
	c, err := Connect(d.socket)
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

func writeSync(w http.ResponseWriter, metadata any) {
	raw, _ := json.Marshal(metadata)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(api.Response{Type: api.SyncResponse, Status: "Success", StatusCode: 200, Metadata: raw})
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.Response{Type: api.ErrorResponse, Error: msg, ErrorCode: status})
}

// startOp registers a running operation and answers the request with it (202).
func (d *fakeDaemon) startOp(w http.ResponseWriter, op api.Operation) {
	if op.Status == "" {
		op.StatusCode = api.Running
		op.Status = "Running"
	}
	d.setOp(op)
	raw, _ := json.Marshal(op)
	w.Header().Set("Location", "/1.0/operations/"+op.ID)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(api.Response{Type: api.AsyncResponse, Status: "Operation created",
		StatusCode: 100, Operation: "/1.0/operations/" + op.ID, Metadata: raw})
}

// setOp stores a new state of an operation and sends it as an operation event.
func (d *fakeDaemon) setOp(op api.Operation) {
	d.mu.Lock()
	defer d.mu.Unlock()
	op.Status = op.StatusCode.String()
	d.ops[op.ID] = op
	close(d.changed)
	d.changed = make(chan struct{})
	for ch := range d.subs {
		ch <- api.Event{Type: api.EventTypeOperation, Timestamp: time.Now(), Location: "none", Metadata: op}
	}
}

func (d *fakeDaemon) getOperation(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	op, ok := d.ops[r.PathValue("id")]
	d.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Operation not found")
		return
	}
	writeSync(w, op)
}

func (d *fakeDaemon) waitOperation(w http.ResponseWriter, r *http.Request) {
	timeout, _ := strconv.Atoi(r.URL.Query().Get("timeout"))
	deadline := time.After(time.Duration(timeout) * time.Second)
	d.mu.Lock()
	d.waitCalls = append(d.waitCalls, r.URL.RawQuery)
	d.mu.Unlock()
	for {
		d.mu.Lock()
		op, ok := d.ops[r.PathValue("id")]
		changed := d.changed
		noFinal := d.waitNoFinal
		d.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, "Operation not found")
			return
		}
		if op.StatusCode.IsFinal() && !noFinal {
			writeSync(w, op)
			return
		}
		select {
		case <-changed:
		case <-deadline:
			if noFinal {
				op.StatusCode, op.Status, op.Err = api.Running, "Running", ""
			}
			writeSync(w, op)
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (d *fakeDaemon) events(w http.ResponseWriter, r *http.Request) {
	if d.noEvents {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer func() { _ = conn.Close() }()
	ch := make(chan api.Event, 64)
	d.mu.Lock()
	d.subs[ch] = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.subs, ch)
		d.mu.Unlock()
	}()
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		discardReads(conn)
	}()
	for {
		select {
		case ev := <-ch:
			if conn.WriteJSON(ev) != nil {
				return
			}
		case <-gone:
			return
		}
	}
}

// subscribers returns how many events streams are open.
func (d *fakeDaemon) subscribers() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.subs)
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
