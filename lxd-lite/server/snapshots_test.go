package server_test

import (
	"context"
	"testing"
	"time"

	"lite/client/api"
)

func snapshotNames(t *testing.T, e *env, name string) []string {
	t.Helper()
	var list []api.InstanceSnapshot
	e.ok("GET", "/1.0/instances/"+name+"/snapshots?recursion=1", nil, &list)
	out := []string{}
	for _, s := range list {
		out = append(out, s.Name)
	}
	return out
}

func TestSnapshotAPI(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	e.succeed("POST", "/1.0/instances/c1/snapshots", map[string]any{"name": ""})
	e.succeed("POST", "/1.0/instances/c1/snapshots", map[string]any{"name": "s1"})
	if got := snapshotNames(t, e, "c1"); len(got) != 2 || got[0] != "snap0" || got[1] != "s1" {
		t.Fatalf("snapshots: %v", got)
	}
	e.fail("POST", "/1.0/instances/c1/snapshots", map[string]any{"name": "a/b"}, 400)
	e.fail("POST", "/1.0/instances/c1/snapshots", map[string]any{"name": "s1"}, 409)
	e.fail("GET", "/1.0/instances/c1/snapshots/nope", nil, 404)
	e.fail("PUT", "/1.0/instances/c1", map[string]any{"restore": "nope"}, 404)
	e.succeed("POST", "/1.0/instances/c1/snapshots/s1", map[string]any{"name": "s2"})
	e.fail("POST", "/1.0/instances/c1/snapshots/s2", map[string]any{"name": "snap0"}, 409)
	e.succeed("PUT", "/1.0/instances/c1", map[string]any{"restore": "s2"})
	e.succeed("DELETE", "/1.0/instances/c1/snapshots/snap0", nil)
	if got := snapshotNames(t, e, "c1"); len(got) != 1 || got[0] != "s2" {
		t.Errorf("after rename and delete: %v", got)
	}
	full, _ := e.getInstance("c1")
	if len(full.Snapshots) != 1 {
		t.Errorf("instance lists %d snapshots", len(full.Snapshots))
	}
	// Copy to an existing name is refused before anything is made.
	e.create("c2", nil)
	e.fail("POST", "/1.0/instances", map[string]any{"name": "c2", "source": map[string]any{"type": "copy", "source": "c1"}}, 409)
	e.succeed("POST", "/1.0/instances", map[string]any{"name": "c3", "source": map[string]any{"type": "copy", "source": "c1/s2"}})
	e.succeed("POST", "/1.0/instances/c3", map[string]any{"name": "c4"})
	e.fail("GET", "/1.0/instances/c3", nil, 404)
}

func TestSnapshotSchedule(t *testing.T) {
	e := newEnv(t)
	e.create("c1", map[string]any{"config": map[string]string{
		"snapshots.schedule": "*/5 * * * *", "snapshots.schedule.stopped": "true",
		"snapshots.expiry": "1H", "snapshots.pattern": "auto-%d",
	}})
	e.create("c2", map[string]any{"config": map[string]string{"snapshots.schedule": "* * * * *"}}) // stopped: skipped
	e.failOp("POST", "/1.0/instances", map[string]any{"name": "bad", "source": map[string]any{"type": "image", "fingerprint": testFP},
		"config": map[string]string{"snapshots.schedule": "often"}})
	at := time.Date(2026, 1, 1, 10, 5, 0, 0, time.UTC)
	e.sched.ScheduleTick(context.Background(), at)
	e.sched.ScheduleTick(context.Background(), at.Add(time.Minute)) // not due
	e.sched.ScheduleTick(context.Background(), at.Add(5*time.Minute))
	if got := snapshotNames(t, e, "c1"); len(got) != 2 || got[0] != "auto-0" || got[1] != "auto-1" {
		t.Fatalf("scheduled snapshots: %v", got)
	}
	if got := snapshotNames(t, e, "c2"); len(got) != 0 {
		t.Errorf("a stopped instance without snapshots.schedule.stopped got %v", got)
	}
	// snapshots.expiry counts from the real creation time: two hours on, both are gone.
	later := time.Now().Add(2 * time.Hour)
	if later.Minute()%5 == 0 {
		later = later.Add(time.Minute) // not a minute the schedule takes a new one
	}
	e.sched.ScheduleTick(context.Background(), later)
	if got := snapshotNames(t, e, "c1"); len(got) != 0 {
		t.Errorf("expired snapshots survived: %v", got)
	}
}
