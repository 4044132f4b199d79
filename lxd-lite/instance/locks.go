package instance

import (
	"context"
	"fmt"
	"sync"
	"time"

	"lite/client/api"
)

// locks serialises lifecycle changes per instance name. A change that finds another one
// under way waits for it; creation reserves a name so two creates of it cannot race. The
// holder of a lock works under a context the lock can cancel, so that a forced stop never
// waits behind a clean stop that may never end (preempt, lockPreempting).
type locks struct {
	mu       sync.Mutex
	byName   map[string]*nameLock
	creating map[string]bool
}

type nameLock struct {
	mu     sync.Mutex
	refs   int
	cancel context.CancelCauseFunc // the holder's; nil while the lock is free (under locks.mu)
}

func newLocks() *locks {
	return &locks{byName: map[string]*nameLock{}, creating: map[string]bool{}}
}

// ref returns name's lock, counted as in use until unref.
func (l *locks) ref(name string) *nameLock {
	l.mu.Lock()
	defer l.mu.Unlock()
	nl, ok := l.byName[name]
	if !ok {
		nl = &nameLock{}
		l.byName[name] = nl
	}
	nl.refs++
	return nl
}

func (l *locks) unref(name string, nl *nameLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	nl.refs--
	if nl.refs == 0 {
		delete(l.byName, name)
	}
}

// held registers the new holder of nl (whose mu it has locked) and returns its context and
// the release. A cancellable holder's context is the one a forced stop cancels.
func (l *locks) held(ctx context.Context, name string, nl *nameLock, cancellable bool) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	l.mu.Lock()
	if cancellable {
		nl.cancel = cancel
	}
	l.mu.Unlock()
	return ctx, func() {
		l.mu.Lock()
		nl.cancel = nil
		l.mu.Unlock()
		cancel(nil)
		nl.mu.Unlock()
		l.unref(name, nl)
	}
}

// lock takes the per-instance lock for a short change (config, rename, delete): a forced
// stop waits for it to finish. The caller works under the returned context and calls the
// release when done.
func (l *locks) lock(ctx context.Context, name string) (context.Context, func()) {
	nl := l.ref(name)
	nl.mu.Lock()
	return l.held(ctx, name, nl, false)
}

// lockCancellable takes the per-instance lock for an operation that may take long or never
// end (start, a clean stop, restart, snapshot, copy, export, restore, publish): a forced
// stop cancels its context, and the operation gives the lock back at once.
func (l *locks) lockCancellable(ctx context.Context, name string) (context.Context, func()) {
	nl := l.ref(name)
	nl.mu.Lock()
	return l.held(ctx, name, nl, true)
}

// errPreempted is the cause given to an operation a forced stop cancelled.
func errPreempted(name string) error {
	return fmt.Errorf("instance %q was stopped with --force while this ran: %w", name, api.ErrConflict)
}

// preemptEvery is how often lockPreempting cancels whoever holds the lock while it waits.
const preemptEvery = 20 * time.Millisecond

// lockPreempting takes the per-instance lock ahead of everything: it cancels a cancellable
// holder, and any cancellable waiter that gets the lock first, until it has the lock itself
// (a short change it just waits for). It reports whether it cancelled anything. Holders give the lock back within moments of their context ending
// (a clean shutdown checks it every second; copies run under exec.CommandContext).
func (l *locks) lockPreempting(ctx context.Context, name string) (context.Context, func(), bool) {
	nl := l.ref(name)
	preempted := false
	for !nl.mu.TryLock() {
		l.mu.Lock()
		if nl.cancel != nil {
			nl.cancel(errPreempted(name))
			preempted = true
		}
		l.mu.Unlock()
		time.Sleep(preemptEvery)
	}
	lctx, release := l.held(ctx, name, nl, true)
	return lctx, release, preempted
}

// reserve claims a name for creation; it fails if another create of it is under way.
func (l *locks) reserve(name string) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.creating[name] {
		return nil, fmt.Errorf("instance %q is being created by another request: %w", name, api.ErrConflict)
	}
	l.creating[name] = true
	return func() {
		l.mu.Lock()
		delete(l.creating, name)
		l.mu.Unlock()
	}, nil
}

// isCreating reports whether a create of name is under way.
func (l *locks) isCreating(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.creating[name]
}
