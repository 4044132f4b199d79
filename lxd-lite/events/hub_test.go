package events

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"lite/client/api"
)

// next returns the next event on s, failing the test if none comes within a generous deadline.
func next(t *testing.T, s *Subscription) api.Event {
	t.Helper()
	select {
	case ev := <-s.C:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	return api.Event{}
}

// none checks that nothing is queued on s. Publish is synchronous, so whatever was sent to s is
// already in its buffer.
func none(t *testing.T, s *Subscription) {
	t.Helper()
	select {
	case ev := <-s.C:
		t.Errorf("unexpected event %+v", ev)
	default:
	}
}

func TestPublishFansOutByType(t *testing.T) {
	h := NewHub()
	all := h.Subscribe()
	defer all.Close()
	emptyType := h.Subscribe("") // ?type= with nothing in it means all types
	defer emptyType.Close()
	ops := h.Subscribe(api.EventTypeOperation)
	defer ops.Close()
	both := h.Subscribe(api.EventTypeOperation, api.EventTypeLifecycle)
	defer both.Close()

	before := time.Now().UTC()
	h.Publish(api.EventTypeOperation, map[string]any{"id": "op1"})
	h.Publish(api.EventTypeLogging, map[string]any{"message": "hello"})
	h.Lifecycle("instance-started", "/1.0/instances/c1", nil)

	for _, s := range []*Subscription{all, emptyType} {
		for _, want := range []string{api.EventTypeOperation, api.EventTypeLogging, api.EventTypeLifecycle} {
			if ev := next(t, s); ev.Type != want {
				t.Errorf("got %s event, want %s", ev.Type, want)
			}
		}
		none(t, s)
	}
	ev := next(t, ops)
	if ev.Type != api.EventTypeOperation || ev.Metadata.(map[string]any)["id"] != "op1" {
		t.Errorf("operation subscriber got %+v", ev)
	}
	if ev.Location != "none" || ev.Project != "default" {
		t.Errorf("location %q project %q", ev.Location, ev.Project)
	}
	if ev.Timestamp.Before(before) || ev.Timestamp.Location() != time.UTC {
		t.Errorf("timestamp %v", ev.Timestamp)
	}
	none(t, ops)
	if next(t, both).Type != api.EventTypeOperation || next(t, both).Type != api.EventTypeLifecycle {
		t.Error("two-type subscriber got the wrong events")
	}
	none(t, both)
}

func TestLifecycleEvent(t *testing.T) {
	h := NewHub()
	s := h.Subscribe(api.EventTypeLifecycle)
	defer s.Close()
	h.Lifecycle("instance-exec", "/1.0/instances/c1", map[string]any{"command": []string{"ls"}})
	h.Lifecycle("instance-created", "/1.0/instances/c2", nil)

	ev := next(t, s)
	lc, ok := ev.Metadata.(api.EventLifecycle)
	if !ok {
		t.Fatalf("metadata is %T", ev.Metadata)
	}
	if lc.Action != "instance-exec" || lc.Source != "/1.0/instances/c1" || lc.Context["command"] == nil {
		t.Errorf("lifecycle = %+v", lc)
	}
	if lc.Requestor["protocol"] != "unix" {
		t.Errorf("requestor = %v", lc.Requestor)
	}
	// A nil context is sent as {}, not null.
	b, err := json.Marshal(next(t, s))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"context":{}`) || !strings.Contains(string(b), `"action":"instance-created"`) {
		t.Errorf("event JSON = %s", b)
	}
}

func TestCloseStopsDelivery(t *testing.T) {
	h := NewHub()
	s := h.Subscribe()
	other := h.Subscribe()
	defer other.Close()
	s.Close()
	h.Publish(api.EventTypeLogging, "x")
	none(t, s)
	if next(t, other).Metadata != "x" {
		t.Error("other subscriber missed the event")
	}
}

// A subscriber that stops reading must not block the daemon.
func TestSlowSubscriberDoesNotBlock(t *testing.T) {
	h := NewHub()
	stuck := h.Subscribe()
	defer stuck.Close()
	done := make(chan struct{})
	go func() {
		for i := 0; i < 10000; i++ {
			h.Publish(api.EventTypeLogging, i)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Publish blocked on a subscriber that does not read")
	}
	if first := next(t, stuck); first.Metadata != 0 {
		t.Errorf("first buffered event = %v, want 0 (the oldest are kept)", first.Metadata)
	}
}
