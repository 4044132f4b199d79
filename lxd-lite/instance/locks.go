package instance

import (
	"fmt"
	"sync"

	"lite/client/api"
)

// locks serialises lifecycle changes per instance name. A change that finds another one
// under way waits for it; creation reserves a name so two creates of it cannot race.
type locks struct {
	mu       sync.Mutex
	byName   map[string]*nameLock
	creating map[string]bool
}

type nameLock struct {
	mu   sync.Mutex
	refs int
}

func newLocks() *locks {
	return &locks{byName: map[string]*nameLock{}, creating: map[string]bool{}}
}

// lock takes the per-instance lock and returns its release.
func (l *locks) lock(name string) func() {
	l.mu.Lock()
	nl, ok := l.byName[name]
	if !ok {
		nl = &nameLock{}
		l.byName[name] = nl
	}
	nl.refs++
	l.mu.Unlock()
	nl.mu.Lock()
	return func() {
		nl.mu.Unlock()
		l.mu.Lock()
		nl.refs--
		if nl.refs == 0 {
			delete(l.byName, name)
		}
		l.mu.Unlock()
	}
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
