package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"lite/client/api"
)

// Timeouts (seconds) of one GET /1.0/operations/{id}/wait call. With the events stream up,
// /wait is only a safety net and may block long; without it, /wait is also the only source of
// progress, so it returns every second.
const (
	waitTimeoutWithEvents = 30
	waitTimeoutPolling    = 1
)

// GetOperation returns the current state of an operation.
func (c *Client) GetOperation(ctx context.Context, id string) (*api.Operation, error) {
	var op api.Operation
	if err := c.get(ctx, apiPath("/1.0/operations", id), nil, &op); err != nil {
		return nil, err
	}
	return &op, nil
}

// Operation is a task running on the server (a 202 reply).
type Operation struct {
	// OnProgress, when set before Wait, is called from Wait's goroutine with the operation's
	// metadata on every update while it runs. Progress is in string values whose keys end in
	// "_progress", for example "build_progress".
	OnProgress func(metadata map[string]any)

	c  *Client
	mu sync.Mutex
	op api.Operation
}

// ID returns the operation's id.
func (op *Operation) ID() string { return op.Get().ID }

// Get returns the last known state of the operation; after Wait it is the final one.
func (op *Operation) Get() api.Operation {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.op
}

func (op *Operation) set(o api.Operation) {
	op.mu.Lock()
	op.op = o
	op.mu.Unlock()
}

// Refresh fetches the current state of the operation.
func (op *Operation) Refresh(ctx context.Context) error {
	o, err := op.c.GetOperation(ctx, op.ID())
	if err != nil {
		return err
	}
	op.set(*o)
	return nil
}

// Cancel asks the server to cancel the operation (only cancellable ones can be).
func (op *Operation) Cancel(ctx context.Context) error {
	_, err := op.c.do(ctx, request{method: http.MethodDelete, path: apiPath("/1.0/operations", op.ID())})
	return err
}

// Wait blocks until the operation ends or ctx is done. It returns nil on success, and an error
// carrying the operation's "err" text when it failed or was cancelled; either way Get returns
// the final state (exec keeps its exit code there).
//
// It follows operation events on /1.0/events (which also carry progress) and, in parallel,
// loops on GET /1.0/operations/{id}/wait with a short timeout, so it works whatever the
// server's longest wait is and still finishes if the events stream fails.
func (op *Operation) Wait(ctx context.Context) error {
	if op.Get().StatusCode.IsFinal() {
		return op.result()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := op.c
	id := op.ID()

	updates := make(chan api.Operation, 16)
	var eventsDone <-chan struct{}
	var eventsUp atomic.Bool
	// Events only carry progress: without a progress hook (exec, scripts) /wait alone is
	// enough, and the events websocket would cost a handshake on every command.
	quiet := op.OnProgress == nil
	listen := c.listen
	if quiet {
		listen = func(context.Context, []string, func([]byte)) (*EventListener, error) { return nil, errQuiet }
	}
	listener, err := listen(ctx, []string{api.EventTypeOperation}, func(frame []byte) {
		var ev struct {
			Type     string        `json:"type"`
			Metadata api.Operation `json:"metadata"`
		}
		if json.Unmarshal(frame, &ev) != nil || ev.Type != api.EventTypeOperation || ev.Metadata.ID != id {
			return
		}
		select {
		case updates <- ev.Metadata:
		case <-ctx.Done():
		}
	})
	if err == nil {
		defer func() { _ = listener.Close() }()
		eventsUp.Store(true)
		eventsDone = listener.Done()
	}

	polled := make(chan pollResult, 1)
	go c.pollWait(ctx, id, func() bool { return quiet || eventsUp.Load() }, polled)

	var pollErr error
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case o := <-updates:
			if done, err := op.update(o, true); done {
				return err
			}
		case r := <-polled:
			if r.err != nil {
				if !eventsUp.Load() {
					return fmt.Errorf("wait for operation %s: %w", id, r.err)
				}
				pollErr, polled = r.err, nil // Events alone will tell; stop listening here.
				continue
			}
			if done, err := op.update(r.op, !eventsUp.Load()); done {
				return err
			}
		case <-eventsDone:
			eventsDone = nil
			eventsUp.Store(false)
			if polled == nil {
				return fmt.Errorf("wait for operation %s: %w (and %v)", id, listener.Err(), pollErr)
			}
		}
	}
}

// update records a new state; it reports whether the operation is over and its result.
func (op *Operation) update(o api.Operation, progress bool) (bool, error) {
	op.set(o)
	if o.StatusCode.IsFinal() {
		return true, op.result()
	}
	if progress && op.OnProgress != nil && o.Metadata != nil {
		op.OnProgress(o.Metadata)
	}
	return false, nil
}

// result turns a final state into Wait's error.
func (op *Operation) result() error {
	o := op.Get()
	switch {
	case o.StatusCode == api.Success:
		return nil
	case o.Err != "":
		return operationError(o)
	case o.StatusCode == api.Cancelled:
		return errors.New("operation cancelled")
	}
	return fmt.Errorf("operation %s ended with status %s", o.ID, strings.ToLower(o.StatusCode.String()))
}

// operationError is the error of a failed operation. When the server named its kind, it is an
// *api.StatusError of that kind (with the status the kind has in a direct reply), so errors.Is
// works as for a refused request; otherwise (an LXD server) only the message is known.
func operationError(o api.Operation) error {
	kind := api.KindNamed(o.ErrKind)
	if kind == nil {
		return errors.New(o.Err)
	}
	return &api.StatusError{Status: api.StatusFor(kind), Kind: kind, Msg: o.Err}
}

// errQuiet stands for the events listener a Wait without a progress hook does not open.
var errQuiet = errors.New("no progress wanted")

// pollResult is one answer of GET /1.0/operations/{id}/wait.
type pollResult struct {
	op  api.Operation
	err error
}

// pollWait calls /wait until the operation is final, an error occurs or ctx is done, sending
// every answer to out. Each call waits long when long() says nothing needs a quicker refresh
// (events are flowing, or nobody wants progress), else briefly.
func (c *Client) pollWait(ctx context.Context, id string, long func() bool, out chan<- pollResult) {
	path := apiPath("/1.0/operations", id) + "/wait"
	for {
		timeout := waitTimeoutPolling
		if long() {
			timeout = waitTimeoutWithEvents
		}
		var o api.Operation
		err := c.get(ctx, path, url.Values{"timeout": {strconv.Itoa(timeout)}}, &o)
		if ctx.Err() != nil {
			return
		}
		select {
		case out <- pollResult{op: o, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil || o.StatusCode.IsFinal() {
			return
		}
	}
}
