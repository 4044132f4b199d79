package client

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"lite/client/api"
)

// launchFixture answers POST /1.0/instances with a running operation "op1" and hands the
// test a function to move it on.
func launchFixture(t *testing.T, d *fakeDaemon) {
	t.Helper()
	d.mux.HandleFunc("POST /1.0/instances", func(w http.ResponseWriter, r *http.Request) {
		d.startOp(w, api.Operation{ID: "op1", Class: api.OperationClassTask,
			Resources: map[string][]string{"instances": {"/1.0/instances/c1"}}, Metadata: map[string]any{}})
	})
}

// progressRecorder collects the build_progress values OnProgress sees.
type progressRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (p *progressRecorder) record(md map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := md["build_progress"].(string); ok {
		p.seen = append(p.seen, v)
	}
}

func (p *progressRecorder) values() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

func TestWaitFollowsEventsAndReportsProgress(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	d.waitNoFinal = true // Only the events stream can tell the operation ended.
	launchFixture(t, d)
	c := d.client()
	op, err := c.CreateInstance(ctx, api.InstancesPost{Name: "c1", Source: api.InstanceSource{Type: "image", Alias: "debian/12"}})
	if err != nil {
		t.Fatal(err)
	}
	var rec progressRecorder
	op.OnProgress = rec.record
	done := make(chan error, 1)
	go func() { done <- op.Wait(context.Background()) }()

	waitFor(t, "the events subscription", func() bool { return d.subscribers() == 1 })
	for _, p := range []string{"debootstrap: 10%", "debootstrap: 50%"} {
		d.setOp(api.Operation{ID: "op1", StatusCode: api.Running, Metadata: map[string]any{"build_progress": p}})
	}
	waitFor(t, "both progress updates", func() bool { return len(rec.values()) == 2 })
	d.setOp(api.Operation{ID: "op1", StatusCode: api.Success, Metadata: map[string]any{},
		Resources: map[string][]string{"instances": {"/1.0/instances/c1"}}})

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Wait() = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after the final event")
	}
	if got := rec.values(); strings.Join(got, "|") != "debootstrap: 10%|debootstrap: 50%" {
		t.Errorf("progress seen = %q", got)
	}
	final := op.Get()
	if final.StatusCode != api.Success || final.Resources["instances"][0] != "/1.0/instances/c1" {
		t.Errorf("final op = %+v", final)
	}
}

func TestWaitFallsBackToWaitEndpoint(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	d.noEvents = true
	launchFixture(t, d)
	c := d.client()
	op, err := c.CreateInstance(ctx, api.InstancesPost{Name: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	var rec progressRecorder
	op.OnProgress = rec.record
	done := make(chan error, 1)
	go func() { done <- op.Wait(context.Background()) }()

	d.setOp(api.Operation{ID: "op1", StatusCode: api.Running, Metadata: map[string]any{"build_progress": "unpack: 90%"}})
	waitFor(t, "progress through /wait", func() bool { return len(rec.values()) > 0 })
	d.setOp(api.Operation{ID: "op1", StatusCode: api.Success})
	if err := <-done; err != nil {
		t.Fatalf("Wait() = %v", err)
	}
	if got := rec.values(); got[0] != "unpack: 90%" {
		t.Errorf("progress = %q", got)
	}
	d.mu.Lock()
	calls := append([]string(nil), d.waitCalls...)
	d.mu.Unlock()
	if len(calls) == 0 || calls[0] != "timeout=1" {
		t.Errorf("wait calls = %q, want short timeouts", calls)
	}
}

func TestWaitReturnsOperationError(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	launchFixture(t, d)
	op, err := d.client().CreateInstance(ctx, api.InstancesPost{Name: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	d.setOp(api.Operation{ID: "op1", StatusCode: api.Failure, Err: "Failed creating instance: no space left"})
	err = op.Wait(context.Background())
	if err == nil || err.Error() != "Failed creating instance: no space left" {
		t.Errorf("Wait() = %v", err)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	launchFixture(t, d)
	op, err := d.client().CreateInstance(ctx, api.InstancesPost{Name: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := op.Wait(ctx); err != context.Canceled {
		t.Errorf("Wait(cancelled ctx) = %v", err)
	}
}

func TestGetEventsDeliversTypedEvents(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	got := make(chan api.Event, 4)
	l, err := d.client().GetEvents(ctx, []string{"operation"}, func(ev api.Event) { got <- ev })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	waitFor(t, "the events subscription", func() bool { return d.subscribers() == 1 })
	d.setOp(api.Operation{ID: "x", StatusCode: api.Running})
	ev := <-got
	md, ok := ev.Metadata.(map[string]any)
	if ev.Type != "operation" || !ok || md["id"] != "x" {
		t.Errorf("event = %+v", ev)
	}
	_ = l.Close()
	<-l.Done()
	if l.Err() != nil {
		t.Errorf("Err() after Close = %v", l.Err())
	}
}
