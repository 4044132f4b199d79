package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"lite/client"
	"lite/client/api"
)

// TestClient drives the daemon through the Go client package, not the binary.
func TestClient(t *testing.T) {
	d := sharedWeb1(t)
	c := d.Client(t)

	t.Run("GetInstances", func(t *testing.T) {
		ctx := t.Context()
		list, err := c.GetInstances(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		var web1 *api.InstanceFull
		for i := range list {
			if list[i].Name == "web1" {
				web1 = &list[i]
			}
		}
		if web1 == nil {
			t.Fatalf("GetInstances: no web1 among %d instances", len(list))
		}
		if web1.Status != "Running" || web1.StatusCode != api.Running || web1.State == nil || web1.State.Pid <= 1 {
			t.Errorf("GetInstances: web1 status %q (%d), state %+v", web1.Status, web1.StatusCode, web1.State)
		}
		filtered, err := c.GetInstances(ctx, "status eq Running")
		if err != nil {
			t.Fatalf("GetInstances(status eq Running): %v", err)
		}
		for _, inst := range filtered {
			if inst.Status != "Running" {
				t.Errorf("filter status eq Running returned %s (%s)", inst.Name, inst.Status)
			}
		}
	})

	t.Run("GetInstance", func(t *testing.T) {
		ctx := t.Context()
		inst, err := c.GetInstance(ctx, "web1")
		if err != nil {
			t.Fatal(err)
		}
		if inst.Name != "web1" || inst.Status != "Running" || inst.State == nil {
			t.Fatalf("GetInstance(web1): %+v", inst.Instance)
		}
		if pid := int(inst.State.Pid); pid != initPid(t, d, "web1") || procUID(t, pid) < idmapBase(t, d, "web1") {
			t.Errorf("GetInstance(web1): pid %d is not web1's unprivileged init", pid)
		}
		if inst.State.Processes < 2 || inst.State.Memory.Usage <= 0 {
			t.Errorf("GetInstance(web1): processes %d, memory %d; want live figures", inst.State.Processes, inst.State.Memory.Usage)
		}
	})

	t.Run("not found", func(t *testing.T) {
		ctx := t.Context()
		_, err := c.GetInstance(ctx, "nosuch")
		if !errors.Is(err, api.ErrNotFound) {
			t.Errorf("GetInstance(nosuch): %v, want errors.Is api.ErrNotFound", err)
		}
		_, err = c.UpdateInstanceState(ctx, "nosuch", api.InstanceStatePut{Action: "start"})
		if !errors.Is(err, api.ErrNotFound) {
			t.Errorf("UpdateInstanceState(nosuch): %v, want errors.Is api.ErrNotFound", err)
		}
		_, err = c.ExecInstance(ctx, "nosuch", api.InstanceExecPost{Command: []string{"true"}}, client.ExecArgs{})
		if !errors.Is(err, api.ErrNotFound) {
			t.Errorf("ExecInstance(nosuch): %v, want errors.Is api.ErrNotFound", err)
		}
	})

	t.Run("exec", func(t *testing.T) {
		ctx := t.Context()
		var stdout, stderr bytes.Buffer
		code, err := c.ExecInstance(ctx, "web1", api.InstanceExecPost{
			Command:     []string{"sh", "-c", `read line; echo "got $line $FOO"; echo oops >&2; exit 5`},
			Environment: map[string]string{"FOO": "bar"},
		}, client.ExecArgs{Stdin: strings.NewReader("ping\n"), Stdout: &stdout, Stderr: &stderr})
		if err != nil {
			t.Fatalf("ExecInstance: %v", err)
		}
		if code != 5 || stdout.String() != "got ping bar\n" || stderr.String() != "oops\n" {
			t.Errorf("ExecInstance: code %d, stdout %q, stderr %q; want 5, \"got ping bar\\n\", \"oops\\n\"", code, stdout.String(), stderr.String())
		}
	})

	t.Run("events", func(t *testing.T) {
		deleteOnCleanup(t, d, "evt1")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		// The handler only queues: it may still run after the test ends, when t must not be used.
		events := make(chan api.Event, 100)
		l, err := c.GetEvents(ctx, []string{api.EventTypeLifecycle}, func(ev api.Event) {
			select {
			case events <- ev:
			default:
			}
		})
		if err != nil {
			t.Fatalf("GetEvents: %v", err)
		}
		defer l.Close()

		op, err := c.CreateInstance(ctx, api.InstancesPost{
			Name: "evt1", Type: "container",
			Source:      api.InstanceSource{Type: "image", Alias: "debian/12"},
			InstancePut: api.InstancePut{Config: map[string]string{}, Devices: map[string]map[string]string{}},
		})
		if err != nil {
			t.Fatalf("CreateInstance: %v", err)
		}
		if err := op.Wait(ctx); err != nil {
			t.Fatalf("CreateInstance: wait: %v", err)
		}
		waitEvent(t, events, l, "instance-created", "/1.0/instances/evt1")

		op, err = c.UpdateInstanceState(ctx, "evt1", api.InstanceStatePut{Action: "start", Timeout: -1})
		if err != nil {
			t.Fatalf("start evt1: %v", err)
		}
		if err := op.Wait(ctx); err != nil {
			t.Fatalf("start evt1: wait: %v", err)
		}
		waitEvent(t, events, l, "instance-started", "/1.0/instances/evt1")

		// A second start of a running instance is refused with a kind, not a crash.
		if op, err := c.UpdateInstanceState(ctx, "evt1", api.InstanceStatePut{Action: "start"}); err == nil {
			if err := op.Wait(ctx); err == nil {
				t.Errorf("starting a running instance succeeded")
			}
		}

		op, err = c.UpdateInstanceState(ctx, "evt1", api.InstanceStatePut{Action: "stop", Force: true})
		if err != nil {
			t.Fatalf("stop evt1: %v", err)
		}
		if err := op.Wait(ctx); err != nil {
			t.Fatalf("stop evt1: wait: %v", err)
		}
		op, err = c.DeleteInstance(ctx, "evt1")
		if err != nil {
			t.Fatalf("delete evt1: %v", err)
		}
		if err := op.Wait(ctx); err != nil {
			t.Fatalf("delete evt1: wait: %v", err)
		}
		if _, err := c.GetInstance(ctx, "evt1"); !errors.Is(err, api.ErrNotFound) {
			t.Errorf("GetInstance after delete: %v, want ErrNotFound", err)
		}
	})

	t.Run("no daemon", func(t *testing.T) {
		_, err := client.Connect(d.Dir + "/no.socket")
		if !errors.Is(err, api.ErrUnavailable) {
			t.Errorf("Connect to a missing socket: %v, want errors.Is api.ErrUnavailable", err)
		}
	})
}

// waitEvent waits for a lifecycle event with the given action and source; the stream was
// opened for lifecycle events only, so any other type is an error.
func waitEvent(t *testing.T, events <-chan api.Event, l *client.EventListener, action, source string) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	var seen []string
	for {
		select {
		case ev := <-events:
			if ev.Type != api.EventTypeLifecycle {
				t.Errorf("asked for lifecycle events only, got a %q event", ev.Type)
				continue
			}
			raw, _ := json.Marshal(ev.Metadata)
			var lc api.EventLifecycle
			if err := json.Unmarshal(raw, &lc); err != nil {
				t.Fatalf("lifecycle event metadata %s: %v", raw, err)
			}
			if lc.Action == action && lc.Source == source {
				return
			}
			seen = append(seen, lc.Action+" "+lc.Source)
		case <-l.Done():
			t.Fatalf("events stream ended (%v) before %s %s; saw %q", l.Err(), action, source, seen)
		case <-timeout:
			t.Fatalf("no %s event for %s within 60s; saw %q", action, source, seen)
		}
	}
}
