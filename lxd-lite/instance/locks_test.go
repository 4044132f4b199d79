package instance

import (
	"context"
	"errors"
	"testing"
	"time"

	"lite/client/api"
)

// TestLockPreempting: a cancellable holder that would wait forever is cancelled, with a
// cause that says why, and the forced taker gets the lock; a free lock is taken without
// preempting; a short change holding the lock is waited for, not cancelled.
func TestLockPreempting(t *testing.T) {
	l := newLocks()
	ctx, unlock := l.lockCancellable(context.Background(), "c1")
	released := make(chan error, 1)
	go func() {
		<-ctx.Done() // a clean stop that only ends when cancelled
		released <- context.Cause(ctx)
		unlock()
	}()
	got := make(chan bool, 1)
	go func() {
		_, release, preempted := l.lockPreempting(context.Background(), "c1")
		release()
		got <- preempted
	}()
	select {
	case preempted := <-got:
		if !preempted {
			t.Error("lockPreempting took a held lock without preempting its holder")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("lockPreempting did not get the lock from a holder waiting on its context")
	}
	if cause := <-released; !errors.Is(cause, api.ErrConflict) {
		t.Errorf("holder's cause %v, want a conflict saying it was stopped with --force", cause)
	}
	_, release, preempted := l.lockPreempting(context.Background(), "c1")
	release()
	if preempted {
		t.Error("a free lock reported a preemption")
	}
	// A short change is waited for, never cancelled.
	ctx, unlock = l.lock(context.Background(), "c1")
	done := make(chan bool, 1)
	go func() {
		_, release, preempted := l.lockPreempting(context.Background(), "c1")
		release()
		done <- preempted
	}()
	for i := 0; i < 10; i++ {
		time.Sleep(preemptEvery)
		if ctx.Err() != nil {
			t.Fatal("lockPreempting cancelled a short change")
		}
	}
	unlock()
	if <-done {
		t.Error("lockPreempting reported preempting a short change")
	}
	if len(l.byName) != 0 {
		t.Errorf("locks left registered: %v", l.byName)
	}
}
