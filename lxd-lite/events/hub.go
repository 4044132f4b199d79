// Package events is lited's one event hub: operations and lifecycle changes are published here
// and fanned out to every /1.0/events listener.
package events

import (
	"sync"
	"time"

	"lite/client/api"
)

// Hub fans events out to subscribers. A slow subscriber loses events rather than blocking
// the daemon: its buffer is large, and a listener that falls that far behind is broken.
type Hub struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription receives the events of the types it asked for.
type Subscription struct {
	C     chan api.Event
	types map[string]bool
	hub   *Hub
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[*Subscription]struct{}{}} }

// Subscribe registers a listener for the given types (none = all).
func (h *Hub) Subscribe(types ...string) *Subscription {
	s := &Subscription{C: make(chan api.Event, 256), types: map[string]bool{}, hub: h}
	for _, t := range types {
		if t != "" {
			s.types[t] = true
		}
	}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Close unregisters the subscription.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	delete(s.hub.subs, s)
	s.hub.mu.Unlock()
}

// Publish sends an event of the given type to every interested subscriber.
func (h *Hub) Publish(typ string, metadata any) {
	ev := api.Event{Type: typ, Timestamp: time.Now().UTC(), Location: "none", Project: "default", Metadata: metadata}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if len(s.types) > 0 && !s.types[typ] {
			continue
		}
		select {
		case s.C <- ev:
		default:
		}
	}
}

// Lifecycle publishes a lifecycle event such as "instance-started" for a source URL.
func (h *Hub) Lifecycle(action, source string, ctx map[string]any) {
	if ctx == nil {
		ctx = map[string]any{}
	}
	h.Publish(api.EventTypeLifecycle, api.EventLifecycle{
		Action: action, Source: source, Context: ctx,
		Requestor: map[string]any{"username": "root", "protocol": "unix", "address": "@"},
	})
}
