package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"lite/client/api"
)

// eventStream is a /1.0/events websocket. A goroutine reads it, since a websocket read that
// times out breaks the connection for good.
type eventStream struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan frame
	seen   []api.Event // every event read so far, for order-independent lookups
}

type frame struct {
	mt   int
	data []byte
	err  error
}

// listen opens /1.0/events (with ?type=types when given) and returns once the server delivers
// events to it. The server subscribes after the handshake, so it sends marker events through
// the hub until one arrives.
func (e *env) listen(types ...string) *eventStream {
	e.t.Helper()
	query, markerType := "", api.EventTypeLogging
	if len(types) > 0 {
		query, markerType = "?type="+strings.Join(types, ","), types[0]
	}
	conn, _, err := e.dial("/1.0/events" + query)
	if err != nil {
		e.t.Fatalf("events: %v", err)
	}
	s := &eventStream{t: e.t, conn: conn, frames: make(chan frame, 1024)}
	go func() {
		for {
			mt, data, err := conn.ReadMessage()
			s.frames <- frame{mt, data, err}
			if err != nil {
				return
			}
		}
	}()
	marker := "sync-" + time.Now().Format(time.RFC3339Nano)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				e.hub.Publish(markerType, map[string]any{"message": marker})
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev, ok := s.read(deadline)
		if !ok {
			close(stop)
			e.t.Fatal("events socket never delivered the marker event")
		}
		if md, _ := ev.Metadata.(map[string]any); ev.Type == markerType && md["message"] == marker {
			break
		}
	}
	close(stop)
	<-stopped
	// Drain the markers published before the publisher stopped.
	for {
		ev, ok := s.read(time.Now().Add(200 * time.Millisecond))
		if !ok {
			break
		}
		if md, _ := ev.Metadata.(map[string]any); ev.Type != markerType || md["message"] != marker {
			e.t.Fatalf("unexpected event while syncing: %+v", ev)
		}
	}
	return s
}

// read returns the next event, or false at the deadline.
func (s *eventStream) read(deadline time.Time) (api.Event, bool) {
	s.t.Helper()
	var f frame
	select {
	case f = <-s.frames:
	case <-time.After(time.Until(deadline)):
		return api.Event{}, false
	}
	mt, data, err := f.mt, f.data, f.err
	if err != nil {
		s.t.Fatalf("events socket: %v", err)
	}
	if mt != websocket.TextMessage {
		s.t.Fatalf("event frame type %d, want text", mt)
	}
	var ev api.Event
	if err := json.Unmarshal(data, &ev); err != nil {
		s.t.Fatalf("event %s: %v", data, err)
	}
	if ev.Type == "" || ev.Timestamp.IsZero() || ev.Location == "" {
		s.t.Errorf("event lacks type, timestamp or location: %s", data)
	}
	return ev, true
}

// until returns the first event, already received or still to come, that match accepts,
// failing the test after 10 s.
func (s *eventStream) until(what string, match func(api.Event) bool) api.Event {
	s.t.Helper()
	for _, ev := range s.seen {
		if match(ev) {
			return ev
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev, ok := s.read(deadline)
		if !ok {
			s.t.Fatalf("no %s event", what)
		}
		s.seen = append(s.seen, ev)
		if match(ev) {
			return ev
		}
	}
}

// asOp decodes an operation event's metadata.
func asOp(t *testing.T, ev api.Event) api.Operation {
	t.Helper()
	b, err := json.Marshal(ev.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	var op api.Operation
	if err := json.Unmarshal(b, &op); err != nil {
		t.Fatal(err)
	}
	return op
}

func asLifecycle(t *testing.T, ev api.Event) api.EventLifecycle {
	t.Helper()
	b, err := json.Marshal(ev.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	var lc api.EventLifecycle
	if err := json.Unmarshal(b, &lc); err != nil {
		t.Fatal(err)
	}
	return lc
}

// finalOpEvent waits for the operation event that ends id.
func (s *eventStream) finalOpEvent(id string) api.Operation {
	s.t.Helper()
	ev := s.until("final operation "+id, func(ev api.Event) bool {
		if ev.Type != api.EventTypeOperation {
			return false
		}
		op := asOp(s.t, ev)
		return op.ID == id && op.StatusCode.IsFinal()
	})
	return asOp(s.t, ev)
}

func (s *eventStream) lifecycle(action, source string) api.EventLifecycle {
	s.t.Helper()
	ev := s.until(action, func(ev api.Event) bool {
		if ev.Type != api.EventTypeLifecycle {
			return false
		}
		lc := asLifecycle(s.t, ev)
		return lc.Action == action && lc.Source == source
	})
	return asLifecycle(s.t, ev)
}

// LXD's client waits for operations only through events: the final operation event must come,
// carry the whole final operation, and lifecycle events must follow each change.
func TestEventsCarryOperationsAndLifecycle(t *testing.T) {
	e := newEnv(t)
	all := e.listen()
	lifecycleOnly := e.listen(api.EventTypeLifecycle)

	op := e.async("POST", "/1.0/instances", map[string]any{"name": "c1", "source": map[string]any{"type": "image", "fingerprint": testFP}})
	created := all.until("operation creation", func(ev api.Event) bool {
		return ev.Type == api.EventTypeOperation && asOp(t, ev).ID == op.ID
	})
	if created.Project != "default" {
		t.Errorf("event project %q", created.Project)
	}
	final := all.finalOpEvent(op.ID)
	if final.StatusCode != api.Success || final.Status != "Success" || final.Resources["instances"][0] != "/1.0/instances/c1" {
		t.Errorf("final create event = %+v", final)
	}
	all.lifecycle("instance-created", "/1.0/instances/c1")

	op = e.async("PUT", "/1.0/instances/c1/state", map[string]any{"action": "start"})
	if final := all.finalOpEvent(op.ID); final.StatusCode != api.Success {
		t.Errorf("final start event = %+v", final)
	}
	lc := all.lifecycle("instance-started", "/1.0/instances/c1")
	if lc.Context == nil {
		t.Error("lifecycle context is null")
	}

	// A failed operation's final event carries the error.
	op = e.async("PUT", "/1.0/instances/c1/state", map[string]any{"action": "start"})
	if final := all.finalOpEvent(op.ID); final.StatusCode != api.Failure || !strings.Contains(final.Err, "already running") {
		t.Errorf("final failed-start event = %+v", final)
	}

	e.succeed("PUT", "/1.0/instances/c1/state", map[string]any{"action": "stop", "force": true})
	all.lifecycle("instance-stopped", "/1.0/instances/c1")
	e.succeed("DELETE", "/1.0/instances/c1", nil)
	all.lifecycle("instance-deleted", "/1.0/instances/c1")

	// The filtered stream saw the lifecycle events and nothing else.
	var actions []string
	for {
		ev, ok := lifecycleOnly.read(time.Now().Add(500 * time.Millisecond))
		if !ok {
			break
		}
		if ev.Type != api.EventTypeLifecycle {
			t.Errorf("type=lifecycle stream got a %s event", ev.Type)
			continue
		}
		actions = append(actions, asLifecycle(t, ev).Action)
	}
	if got := strings.Join(actions, ","); got != "instance-created,instance-started,instance-stopped,instance-deleted" {
		t.Errorf("lifecycle stream = %s", got)
	}
}
