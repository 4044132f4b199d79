// Package operations runs lited's long work as LXD-style operations: each has an id, a status
// that only moves forward, metadata that may change while it runs, and an event on every change.
package operations

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"lite/client/api"
	"lite/lxd-lite/events"
)

// keepFinished is how long a finished operation stays queryable. LXD keeps them 5 s; both of
// its clients GET an operation right after it may have ended.
const keepFinished = 5 * time.Second

// Manager owns the running and recently finished operations, and the goroutines that run
// them: every operation's context derives from the manager's, and Shutdown cancels them all
// and waits for their goroutines.
type Manager struct {
	hub    *events.Hub
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	ops    map[string]*Op
	// running counts the goroutines Start began; Add happens under mu while !closed, so it
	// never races with Shutdown's Wait.
	running sync.WaitGroup
	closed  bool
}

// NewManager returns a manager publishing on hub whose operations run under ctx (the
// daemon's): when it ends, so does every operation's context.
func NewManager(ctx context.Context, hub *events.Hub) *Manager {
	ctx, cancel := context.WithCancel(ctx)
	return &Manager{hub: hub, ctx: ctx, cancel: cancel, ops: map[string]*Op{}}
}

// Op is one operation.
type Op struct {
	m      *Manager
	mu     sync.Mutex
	op     api.Operation
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	// connect serves a websocket of a websocket-class operation.
	connect func(secret string, w http.ResponseWriter, r *http.Request) error
}

// Spec describes a new operation.
type Spec struct {
	Class       string
	Description string
	Resources   map[string][]string
	Metadata    map[string]any
	// Run does the work; its error fails the operation.
	Run func(ctx context.Context, op *Op) error
	// Connect serves the websockets of a websocket-class operation.
	Connect func(secret string, w http.ResponseWriter, r *http.Request) error
	// MayCancel lets clients cancel the operation (its context ends).
	MayCancel bool
}

// NewID returns a random UUID (version 4) for an operation.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Create registers an operation without running it (for websocket operations, which start
// when their clients connect). Call Start or Run on it.
func (m *Manager) Create(spec Spec) *Op {
	now := time.Now().UTC()
	if spec.Class == "" {
		spec.Class = api.OperationClassTask
	}
	res := map[string][]string{}
	for k, v := range spec.Resources {
		res[k] = v
	}
	if v, ok := res["instances"]; ok {
		res["containers"] = v
	}
	ctx, cancel := context.WithCancel(m.ctx)
	op := &Op{m: m, done: make(chan struct{}), ctx: ctx, cancel: cancel, connect: spec.Connect, op: api.Operation{
		ID: NewID(), Class: spec.Class, Description: spec.Description, CreatedAt: now, UpdatedAt: now,
		Status: api.Running.String(), StatusCode: api.Running, Resources: res,
		Metadata: spec.Metadata, Location: "none", MayCancel: spec.MayCancel,
	}}
	m.mu.Lock()
	m.ops[op.op.ID] = op
	m.mu.Unlock()
	m.hub.Publish(api.EventTypeOperation, op.Render())
	return op
}

// Start registers an operation and runs spec.Run in a goroutine the manager waits for on
// Shutdown. Once Shutdown has begun, the operation fails at once without running.
func (m *Manager) Start(spec Spec) *Op {
	op := m.Create(spec)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		op.Finish(fmt.Errorf("lited is shutting down: %w", api.ErrUnavailable))
		return op
	}
	m.running.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.running.Done()
		op.Finish(spec.Run(op.ctx, op))
	}()
	return op
}

// Shutdown cancels every operation, refuses new ones, and waits for the goroutines Start
// began until they end or ctx does; then it fails with the operations still running.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	done := make(chan struct{})
	go func() {
		m.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	var left []string
	for _, op := range m.List() {
		if o := op.Render(); !o.StatusCode.IsFinal() {
			left = append(left, o.ID+" ("+o.Description+")")
		}
	}
	sort.Strings(left)
	return fmt.Errorf("operations still running after shutdown began: %s: %w", strings.Join(left, ", "), context.Cause(ctx))
}

// Get returns a running or recently finished operation.
func (m *Manager) Get(id string) (*Op, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	op, ok := m.ops[id]
	if !ok {
		return nil, fmt.Errorf("operation %q: %w", id, api.ErrNotFound)
	}
	return op, nil
}

// List returns every known operation.
func (m *Manager) List() []*Op {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Op, 0, len(m.ops))
	for _, op := range m.ops {
		out = append(out, op)
	}
	return out
}

// ID returns the operation's id.
func (op *Op) ID() string { return op.op.ID }

// URL returns the operation's API path.
func (op *Op) URL() string { return "/1.0/operations/" + op.op.ID }

// Render returns a copy of the operation for the wire.
func (op *Op) Render() api.Operation {
	op.mu.Lock()
	defer op.mu.Unlock()
	out := op.op
	if op.op.Metadata != nil {
		out.Metadata = make(map[string]any, len(op.op.Metadata))
		for k, v := range op.op.Metadata {
			out.Metadata[k] = v
		}
	}
	return out
}

// UpdateMetadata merges keys into the metadata and publishes the change.
func (op *Op) UpdateMetadata(kv map[string]any) {
	op.mu.Lock()
	if op.op.Metadata == nil {
		op.op.Metadata = map[string]any{}
	}
	for k, v := range kv {
		op.op.Metadata[k] = v
	}
	op.op.UpdatedAt = time.Now().UTC()
	op.mu.Unlock()
	op.m.hub.Publish(api.EventTypeOperation, op.Render())
}

// Progress sets one *_progress metadata key; LXD's client requires a string there.
func (op *Op) Progress(key, msg string) {
	op.UpdateMetadata(map[string]any{key: msg})
}

// Finish marks the operation final (Success, or Failure with err) exactly once, publishes the
// final state, and schedules its removal.
func (op *Op) Finish(err error) {
	op.mu.Lock()
	select {
	case <-op.done:
		op.mu.Unlock()
		return
	default:
	}
	if err != nil {
		op.op.Status, op.op.StatusCode, op.op.Err, op.op.ErrKind = api.Failure.String(), api.Failure, api.Message(err), api.KindName(err)
	} else {
		op.op.Status, op.op.StatusCode = api.Success.String(), api.Success
	}
	if err != nil && op.ctx.Err() != nil && op.op.MayCancel {
		op.op.Status, op.op.StatusCode = api.Cancelled.String(), api.Cancelled
	}
	op.op.UpdatedAt = time.Now().UTC()
	close(op.done)
	op.mu.Unlock()
	op.cancel()
	op.m.hub.Publish(api.EventTypeOperation, op.Render())
	time.AfterFunc(keepFinished, func() {
		op.m.mu.Lock()
		delete(op.m.ops, op.op.ID)
		op.m.mu.Unlock()
	})
}

// Cancel asks a cancellable operation to stop.
func (op *Op) Cancel() error {
	op.mu.Lock()
	may := op.op.MayCancel
	op.mu.Unlock()
	if !may {
		return fmt.Errorf("operation %s cannot be cancelled: %w", op.op.ID, api.ErrForbidden)
	}
	op.cancel()
	return nil
}

// Context ends when the operation is cancelled or final.
func (op *Op) Context() context.Context { return op.ctx }

// Connect serves one websocket of a websocket-class operation.
func (op *Op) Connect(secret string, w http.ResponseWriter, r *http.Request) error {
	if op.connect == nil {
		return fmt.Errorf("operation %s has no websockets: %w", op.op.ID, api.ErrInvalid)
	}
	return op.connect(secret, w, r)
}

// Done is closed when the operation is final.
func (op *Op) Done() <-chan struct{} { return op.done }

// Wait blocks until the operation is final, ctx ends, or timeout passes (negative: no limit).
func (op *Op) Wait(ctx context.Context, timeout time.Duration) {
	var tc <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-op.done:
	case <-ctx.Done():
	case <-tc:
	}
}

// SetResources replaces the resources (a create learns its generated name late).
func (op *Op) SetResources(res map[string][]string) {
	op.mu.Lock()
	if v, ok := res["instances"]; ok {
		res["containers"] = v
	}
	op.op.Resources = res
	op.mu.Unlock()
}
