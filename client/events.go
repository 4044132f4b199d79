package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/gorilla/websocket"

	"lite/client/api"
)

// EventListener is an open /1.0/events stream. Close it when done.
type EventListener struct {
	conn      *websocket.Conn
	done      chan struct{}
	stop      func() bool // unregisters the context hook
	closeOnce sync.Once
	mu        sync.Mutex
	closed    bool
	err       error
}

// GetEvents opens /1.0/events for the given event types (all types when none are given) and
// calls handler for every event, in order, from a single goroutine, until the listener is
// closed, the stream ends, or ctx is done. Frames that do not parse or have
// no type are skipped, as LXD's client does.
func (c *Client) GetEvents(ctx context.Context, types []string, handler func(api.Event)) (*EventListener, error) {
	return c.listen(ctx, types, func(frame []byte) {
		var ev api.Event
		if json.Unmarshal(frame, &ev) != nil || ev.Type == "" {
			return
		}
		handler(ev)
	})
}

// listen opens the events websocket and feeds every frame to onFrame.
func (c *Client) listen(ctx context.Context, types []string, onFrame func([]byte)) (*EventListener, error) {
	q := url.Values{}
	if len(types) > 0 {
		q.Set("type", strings.Join(types, ","))
	}
	conn, err := c.dialWebsocket(ctx, "/1.0/events", q)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	l := &EventListener{conn: conn, done: make(chan struct{})}
	l.stop = context.AfterFunc(ctx, func() { _ = l.Close() })
	go l.read(onFrame)
	return l, nil
}

// read delivers frames until the stream ends and records why it ended.
func (l *EventListener) read(onFrame func([]byte)) {
	defer close(l.done)
	for {
		kind, frame, err := l.conn.ReadMessage()
		if err != nil {
			l.mu.Lock()
			if !l.closed {
				l.err = fmt.Errorf("events stream ended: %w", err)
			}
			l.mu.Unlock()
			return
		}
		if kind == websocket.TextMessage {
			onFrame(frame)
		}
	}
}

// Done is closed when the stream has ended and no more events will be delivered.
func (l *EventListener) Done() <-chan struct{} { return l.done }

// Err says why the stream ended: nil if it was closed by Close (or is still open).
func (l *EventListener) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Close ends the stream. A handler call already running may still finish after Close
// returns; Done is closed once it has.
func (l *EventListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		l.stop()
		err = l.conn.Close()
	})
	return err
}
