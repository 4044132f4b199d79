package operations

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"lite/client/api"
	"lite/lxd-lite/events"
)

// The daemon's context ending cancels every operation's context.
func TestManagerContextCancelsOperations(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := NewManager(parent, events.NewHub())
	started := make(chan struct{})
	op := m.Start(Spec{Run: func(ctx context.Context, _ *Op) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}})
	<-started
	created := m.Create(Spec{Class: api.OperationClassWebsocket})
	cancel()
	waitDone(t, op)
	if o := op.Render(); o.StatusCode != api.Failure || !strings.Contains(o.Err, "canceled") {
		t.Errorf("operation after the daemon's context ended: %s %q", o.Status, o.Err)
	}
	select {
	case <-created.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a created operation's context did not end with the daemon's")
	}
}

// Shutdown cancels the running operations and returns only once their goroutines have
// finished, cleanup included.
func TestShutdownWaitsForOperations(t *testing.T) {
	m := NewManager(context.Background(), events.NewHub())
	started := make(chan struct{})
	cleaned := make(chan struct{})
	release := make(chan struct{})
	op := m.Start(Spec{Run: func(ctx context.Context, _ *Op) error {
		close(started)
		<-ctx.Done()
		<-release // cleanup that takes a while
		close(cleaned)
		return ctx.Err()
	}})
	<-started
	res := make(chan error, 1)
	go func() { res <- m.Shutdown(context.Background()) }()
	select {
	case <-op.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not cancel the operation")
	}
	select {
	case err := <-res:
		t.Fatalf("Shutdown returned (%v) while the operation still cleaned up", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return after the operation ended")
	}
	select {
	case <-cleaned:
	default:
		t.Fatal("Shutdown returned before the operation's goroutine finished")
	}
	waitDone(t, op)
}

// An operation that ignores cancellation holds Shutdown only until its bound, and the
// error names it.
func TestShutdownBounded(t *testing.T) {
	m := NewManager(context.Background(), events.NewHub())
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	op := m.Start(Spec{Description: "Stubborn", Run: func(context.Context, *Op) error {
		close(started)
		<-release
		return nil
	}})
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- m.Shutdown(ctx) }()
	cancel()
	select {
	case err := <-res:
		if err == nil || !strings.Contains(err.Error(), op.ID()+" (Stubborn)") || !errors.Is(err, context.Canceled) {
			t.Fatalf("Shutdown past its bound = %v, want an error naming %s", err, op.ID())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown ignored its bound")
	}
}

// After Shutdown began, Start runs nothing and fails the operation as unavailable.
func TestStartAfterShutdown(t *testing.T) {
	m := NewManager(context.Background(), events.NewHub())
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ran := make(chan struct{}, 1)
	op := m.Start(Spec{Run: func(context.Context, *Op) error { ran <- struct{}{}; return nil }})
	waitDone(t, op)
	if o := op.Render(); o.StatusCode != api.Failure || !strings.Contains(o.Err, "shutting down") {
		t.Errorf("operation started after Shutdown: %s %q", o.Status, o.Err)
	}
	select {
	case <-ran:
		t.Fatal("Start ran an operation after Shutdown")
	default:
	}
}
