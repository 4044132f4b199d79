package instance_test

import (
	"os"
	"path/filepath"
	"testing"

	"lite/client/api"
)

// TestSnapshotRefusesTakenName: a second snapshot of the same name is ErrAlreadyExists and
// leaves the first alone; with Reuse it replaces it.
func TestSnapshotRefusesTakenName(t *testing.T) {
	e := newEnv(t)
	e.create("c1")
	e.writeFile("c1", "a", "one")
	e.snapshot("c1", "snap0")
	e.writeFile("c1", "a", "two")
	snapFile := filepath.Join(e.pool, "c1", "snapshots", "snap0", "rootfs", "a")
	_, err := e.svc.Snapshots.Snapshot(e.ctx, "c1", api.InstanceSnapshotsPost{Name: "snap0"})
	wantKind(t, "snapshot of a taken name", err, api.ErrAlreadyExists)
	if b, _ := os.ReadFile(snapFile); string(b) != "one" {
		t.Errorf("refused snapshot changed the first: %q", b)
	}
	e.wantActions()
	if _, err := e.svc.Snapshots.Snapshot(e.ctx, "c1", api.InstanceSnapshotsPost{Name: "snap0", Reuse: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(snapFile); string(b) != "two" {
		t.Errorf("reused snapshot holds %q, want two", b)
	}
	if got := e.snapshotNames("c1"); len(got) != 1 {
		t.Errorf("snapshots %v, want one", got)
	}
	_, err = e.svc.Snapshots.Snapshot(e.ctx, "nope", api.InstanceSnapshotsPost{Name: "snap0"})
	wantKind(t, "snapshot of a missing instance", err, api.ErrNotFound)
}

// TestRestore brings back the snapshot's files and config; the instance's volatile keys
// (uuid, power state) stay its own.
func TestRestore(t *testing.T) {
	e := newEnv(t)
	e.create("c1")
	if err := e.db.SetInstanceConfig(e.ctx, "c1", map[string]string{"user.when": "before"}); err != nil {
		t.Fatal(err)
	}
	e.writeFile("c1", "a", "before")
	e.snapshot("c1", "snap0")
	uuid := e.row("c1").Config["volatile.uuid"]
	e.writeFile("c1", "a", "after")
	e.writeFile("c1", "new", "x")
	if err := e.db.SetInstanceConfig(e.ctx, "c1", map[string]string{"user.when": "after", "volatile.uuid": "changed"}); err != nil {
		t.Fatal(err)
	}
	if err := e.mgr.Restore(e.ctx, "c1", "snap0"); err != nil {
		t.Fatal(err)
	}
	e.wantActions("instance-restored")
	if got := e.readFile("c1", "a"); got != "before" {
		t.Errorf("restored file %q, want before", got)
	}
	if got := e.readFile("c1", "new"); got != "" {
		t.Errorf("a file made after the snapshot survived the restore: %q", got)
	}
	cfg := e.row("c1").Config
	if cfg["user.when"] != "before" {
		t.Errorf("restored user.when %q, want before", cfg["user.when"])
	}
	if cfg["volatile.uuid"] != "changed" || uuid == "changed" {
		t.Errorf("volatile.uuid %q after restore: want the instance's own (changed)", cfg["volatile.uuid"])
	}
	if e.rt.Running("c1") || len(e.rt.Starts()) != 0 {
		t.Error("restoring a stopped instance started it")
	}
	if got := e.poolEntries(); len(got) != 1 {
		t.Errorf("containers dir %v", got)
	}
	entries, err := os.ReadDir(filepath.Join(e.pool, "c1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range entries {
		if de.Name() != "rootfs" && de.Name() != "snapshots" {
			t.Errorf("left in the instance's directory after restore: %s", de.Name())
		}
	}
}

// TestRestoreRunning stops a running instance, restores it and starts it again.
func TestRestoreRunning(t *testing.T) {
	e := newEnv(t)
	e.create("c1")
	e.writeFile("c1", "a", "before")
	e.snapshot("c1", "snap0")
	if err := e.mgr.Start(e.ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	e.actions()
	if err := e.mgr.Restore(e.ctx, "c1", "snap0"); err != nil {
		t.Fatal(err)
	}
	e.wantActions("instance-stopped", "instance-restored", "instance-started")
	if !e.rt.Running("c1") || len(e.rt.Starts()) != 2 || len(e.rt.Stops()) != 1 {
		t.Errorf("after restore: running %v, %d starts, %d stops; want running, 2, 1", e.rt.Running("c1"), len(e.rt.Starts()), len(e.rt.Stops()))
	}
}

// TestRestoreMissingSnapshot: a missing snapshot (or instance) is ErrNotFound, and the
// instance keeps its files, config and run state.
func TestRestoreMissingSnapshot(t *testing.T) {
	e := newEnv(t)
	e.launch("c1")
	e.snapshot("c1", "snap0")
	before := e.row("c1").Config
	wantKind(t, "restore of a missing snapshot", e.mgr.Restore(e.ctx, "c1", "nope"), api.ErrNotFound)
	wantKind(t, "restore of a missing instance", e.mgr.Restore(e.ctx, "nope", "snap0"), api.ErrNotFound)
	e.wantActions()
	if !e.rt.Running("c1") || len(e.rt.Stops()) != 0 {
		t.Error("a refused restore stopped the instance")
	}
	after := e.row("c1").Config
	for k, v := range before {
		if after[k] != v {
			t.Errorf("config %s changed from %q to %q", k, v, after[k])
		}
	}
}

// TestDeleteSnapshotAndRename: a deleted snapshot loses its row and files; a rename onto an
// existing snapshot is ErrAlreadyExists and moves nothing.
func TestDeleteSnapshotAndRename(t *testing.T) {
	e := newEnv(t)
	e.create("c1")
	e.snapshot("c1", "snap0")
	e.snapshot("c1", "snap1")
	wantKind(t, "rename onto a snapshot", e.svc.Snapshots.RenameSnapshot(e.ctx, "c1", "snap0", "snap1"), api.ErrAlreadyExists)
	if err := e.svc.Snapshots.RenameSnapshot(e.ctx, "c1", "snap0", "first"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Snapshots.DeleteSnapshot(e.ctx, "c1", "snap1"); err != nil {
		t.Fatal(err)
	}
	e.wantActions("instance-snapshot-renamed", "instance-snapshot-deleted")
	if got := e.snapshotNames("c1"); len(got) != 1 || got[0] != "first" {
		t.Errorf("snapshots %v, want [first]", got)
	}
	entries, err := os.ReadDir(filepath.Join(e.pool, "c1", "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "first" {
		t.Errorf("snapshot dirs %v, want first", entries)
	}
	wantKind(t, "delete of a missing snapshot", e.svc.Snapshots.DeleteSnapshot(e.ctx, "c1", "snap1"), api.ErrNotFound)
}
