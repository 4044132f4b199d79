package operations

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"lite/client/api"
	"lite/lxd-lite/events"
)

func newManager(t *testing.T) (*Manager, *events.Subscription) {
	t.Helper()
	hub := events.NewHub()
	sub := hub.Subscribe(api.EventTypeOperation)
	t.Cleanup(sub.Close)
	return NewManager(context.Background(), hub), sub
}

// nextOp returns the operation carried by the next operation event.
func nextOp(t *testing.T, sub *events.Subscription) api.Operation {
	t.Helper()
	select {
	case ev := <-sub.C:
		op, ok := ev.Metadata.(api.Operation)
		if !ok {
			t.Fatalf("operation event metadata is %T", ev.Metadata)
		}
		return op
	case <-time.After(10 * time.Second):
		t.Fatal("no operation event")
	}
	return api.Operation{}
}

func waitDone(t *testing.T, op *Op) {
	t.Helper()
	select {
	case <-op.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("operation did not finish")
	}
}

func TestNewID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		id := NewID()
		if !re.MatchString(id) {
			t.Fatalf("NewID() = %q is not a v4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %s", id)
		}
		seen[id] = true
	}
}

func TestStartSuccess(t *testing.T) {
	m, sub := newManager(t)
	release := make(chan struct{})
	op := m.Start(Spec{
		Description: "Starting instance",
		Resources:   map[string][]string{"instances": {"/1.0/instances/c1"}},
		Run: func(ctx context.Context, op *Op) error {
			<-release
			return nil
		},
	})
	created := nextOp(t, sub)
	if created.ID != op.ID() || created.StatusCode != api.Running || created.Status != "Running" || created.Class != api.OperationClassTask {
		t.Errorf("creation event = %+v", created)
	}
	if created.Location != "none" || created.Description != "Starting instance" || created.CreatedAt.IsZero() {
		t.Errorf("creation event = %+v", created)
	}
	// LXD's client accepts either key; old ones only read containers.
	if got := created.Resources["containers"]; len(got) != 1 || got[0] != "/1.0/instances/c1" {
		t.Errorf("resources = %v", created.Resources)
	}
	if op.URL() != "/1.0/operations/"+op.ID() {
		t.Errorf("URL = %s", op.URL())
	}
	got, err := m.Get(op.ID())
	if err != nil || got != op {
		t.Fatalf("Get = %v, %v", got, err)
	}
	select {
	case <-op.Done():
		t.Fatal("done before Run returned")
	default:
	}
	close(release)
	waitDone(t, op)
	final := nextOp(t, sub)
	if final.StatusCode != api.Success || final.Status != "Success" || final.Err != "" {
		t.Errorf("final event = %+v", final)
	}
	if r := op.Render(); r.StatusCode != api.Success || r.UpdatedAt.Before(r.CreatedAt) {
		t.Errorf("rendered = %+v", r)
	}
}

func TestStartFailure(t *testing.T) {
	m, sub := newManager(t)
	op := m.Start(Spec{Run: func(context.Context, *Op) error {
		return errors.New(`instance "c1" is already running`)
	}})
	nextOp(t, sub)
	waitDone(t, op)
	final := nextOp(t, sub)
	if final.StatusCode != api.Failure || final.Status != "Failure" || final.Err != `instance "c1" is already running` {
		t.Errorf("final = %+v", final)
	}
}

func TestFinishOnce(t *testing.T) {
	m, sub := newManager(t)
	op := m.Create(Spec{Description: "x"})
	nextOp(t, sub)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i%2 == 0 {
				op.Finish(nil)
			} else {
				op.Finish(errors.New("late"))
			}
		}(i)
	}
	wg.Wait()
	first := nextOp(t, sub)
	if !first.StatusCode.IsFinal() {
		t.Fatalf("final event = %+v", first)
	}
	select {
	case ev := <-sub.C:
		t.Errorf("a second final event was published: %+v", ev.Metadata)
	default:
	}
	// Whatever won, the state never changes afterwards.
	op.Finish(errors.New("much later"))
	if r := op.Render(); r.StatusCode != first.StatusCode || r.Err != first.Err {
		t.Errorf("state changed after the final one: %+v vs %+v", r, first)
	}
}

func TestMetadataUpdatesPublish(t *testing.T) {
	m, sub := newManager(t)
	op := m.Create(Spec{Class: api.OperationClassWebsocket, Metadata: map[string]any{"fds": map[string]any{"0": "s"}}})
	if c := nextOp(t, sub); c.Class != api.OperationClassWebsocket || c.Metadata["fds"] == nil {
		t.Errorf("creation = %+v", c)
	}
	op.Progress("create_instance_from_image_unpack_progress", "Unpack: 50%")
	ev := nextOp(t, sub)
	if v, ok := ev.Metadata["create_instance_from_image_unpack_progress"].(string); !ok || v != "Unpack: 50%" {
		t.Errorf("progress event metadata = %v (progress values must be strings)", ev.Metadata)
	}
	if ev.Metadata["fds"] == nil {
		t.Error("an update dropped earlier metadata")
	}
	op.UpdateMetadata(map[string]any{"return": 3})
	op.Finish(nil)
	ev = nextOp(t, sub)
	if ev.Metadata["return"] != 3 || ev.StatusCode != api.Running {
		t.Errorf("update event = %+v", ev)
	}
	// The final event carries the final metadata: LXD's client replaces its copy with it.
	final := nextOp(t, sub)
	if final.StatusCode != api.Success || final.Metadata["return"] != 3 || final.Metadata["fds"] == nil {
		t.Errorf("final event = %+v", final)
	}
}

func TestMetadataOnOpWithoutAny(t *testing.T) {
	m, sub := newManager(t)
	op := m.Create(Spec{})
	nextOp(t, sub)
	op.UpdateMetadata(map[string]any{"k": "v"})
	if got := nextOp(t, sub).Metadata["k"]; got != "v" {
		t.Errorf("metadata k = %v", got)
	}
}

// Render hands out a copy: a handler encoding it must not race with, or change, the operation.
func TestRenderIsACopy(t *testing.T) {
	m, _ := newManager(t)
	op := m.Create(Spec{Metadata: map[string]any{"a": "1"}})
	r := op.Render()
	r.Metadata["a"] = "changed"
	r.Status = "Bogus"
	if got := op.Render(); got.Metadata["a"] != "1" || got.Status != "Running" {
		t.Errorf("changing a render changed the op: %+v", got)
	}
}

func TestCreateCopiesResources(t *testing.T) {
	m, _ := newManager(t)
	res := map[string][]string{"instances": {"/1.0/instances/c1"}}
	op := m.Create(Spec{Resources: res})
	if _, ok := res["containers"]; ok {
		t.Error("Create changed the caller's resources map")
	}
	op.SetResources(map[string][]string{"instances": {"/1.0/instances/gen-1"}})
	r := op.Render()
	if r.Resources["instances"][0] != "/1.0/instances/gen-1" || r.Resources["containers"][0] != "/1.0/instances/gen-1" {
		t.Errorf("resources = %v", r.Resources)
	}
}

func TestWait(t *testing.T) {
	m, _ := newManager(t)
	op := m.Create(Spec{})

	// A timeout returns with the operation still running.
	returned := make(chan struct{})
	go func() { op.Wait(context.Background(), 20*time.Millisecond); close(returned) }()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait with a timeout did not return")
	}
	if op.Render().StatusCode.IsFinal() {
		t.Fatal("operation final after a timed-out wait")
	}

	// A cancelled context returns too.
	ctx, cancel := context.WithCancel(context.Background())
	returned = make(chan struct{})
	go func() { op.Wait(ctx, -1); close(returned) }()
	cancel()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return on a cancelled context")
	}

	// No limit: returns when the operation ends, not before.
	returned = make(chan struct{})
	go func() { op.Wait(context.Background(), -1); close(returned) }()
	select {
	case <-returned:
		t.Fatal("Wait without a limit returned before the operation ended")
	case <-time.After(50 * time.Millisecond):
	}
	op.Finish(nil)
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return when the operation ended")
	}

	// On a finished operation it returns at once, even with a long timeout.
	returned = make(chan struct{})
	go func() { op.Wait(context.Background(), time.Hour); close(returned) }()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait on a finished operation blocked")
	}
}

// Finished operations stay queryable for a while (LXD: 5 s), then go away.
func TestFinishedKeptThenRemoved(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	op := m.Create(Spec{})
	op.Finish(nil)
	if _, err := m.Get(op.ID()); err != nil {
		t.Fatalf("finished operation gone at once: %v", err)
	}
	if len(m.List()) != 1 {
		t.Errorf("List = %v", m.List())
	}
	deadline := time.Now().Add(keepFinished + 20*time.Second)
	for {
		_, err := m.Get(op.ID())
		if errors.Is(err, api.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("finished operation still there after %s", keepFinished+20*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(m.List()) != 0 {
		t.Errorf("List after removal = %v", m.List())
	}
}

func TestGetUnknown(t *testing.T) {
	m, _ := newManager(t)
	if _, err := m.Get("nope"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func TestCancelRefusedUnlessMayCancel(t *testing.T) {
	m, sub := newManager(t)
	release := make(chan struct{})
	defer close(release)
	op := m.Start(Spec{Run: func(ctx context.Context, _ *Op) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}})
	nextOp(t, sub)
	if op.Render().MayCancel {
		t.Fatal("operation says may_cancel without asking for it")
	}
	if err := op.Cancel(); !errors.Is(err, api.ErrForbidden) {
		t.Errorf("Cancel = %v, want ErrForbidden", err)
	}
	select {
	case <-op.Done():
		t.Fatal("a refused cancel ended the operation")
	case <-time.After(50 * time.Millisecond):
	}
	// A websocket operation has no Run to cancel either.
	ws := m.Create(Spec{Class: api.OperationClassWebsocket})
	if err := ws.Cancel(); !errors.Is(err, api.ErrForbidden) {
		t.Errorf("Cancel of a created op = %v, want ErrForbidden", err)
	}
}
