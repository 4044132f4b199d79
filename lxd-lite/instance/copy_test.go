package instance_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lite/client/api"
)

// copyReq is a copy request of source (an instance or instance/snapshot) to name.
func copyReq(source, name string) api.InstancesPost {
	return api.InstancesPost{Name: name, Source: api.InstanceSource{Type: "copy", Source: source}}
}

// snapshot takes a snapshot and drops its event.
func (e *env) snapshot(name, snap string) {
	e.t.Helper()
	if _, err := e.svc.Snapshots.Snapshot(e.ctx, name, api.InstanceSnapshotsPost{Name: snap}); err != nil {
		e.t.Fatalf("snapshot %s/%s: %v", name, snap, err)
	}
	e.actions()
}

// snapshotNames lists an instance's snapshot rows.
func (e *env) snapshotNames(name string) []string {
	e.t.Helper()
	list, err := e.db.ListSnapshots(e.ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, s := range list {
		out = append(out, s.Name)
	}
	return out
}

// TestCopy: a copy gets the source's files and snapshots, a fresh uuid, the source's image and
// id shift, runs the "copy" templates and publishes instance-created with its source.
func TestCopy(t *testing.T) {
	e := newEnv(t)
	e.create("c1")
	e.writeFile("c1", "a", "before")
	e.snapshot("c1", "snap0")
	e.writeFile("c1", "a", "after")

	name, err := e.mgr.Create(e.ctx, copyReq("c1", "c2"), nil)
	if err != nil || name != "c2" {
		t.Fatalf("copy: %q, %v", name, err)
	}
	e.wantActions("instance-created")
	src, dst := e.row("c1"), e.row("c2")
	if dst.Config["volatile.uuid"] == "" || dst.Config["volatile.uuid"] == src.Config["volatile.uuid"] {
		t.Errorf("copy's uuid %q, source's %q: want a new one", dst.Config["volatile.uuid"], src.Config["volatile.uuid"])
	}
	for _, k := range []string{"volatile.base_image", "volatile.idmap.base", "image.os"} {
		if dst.Config[k] != src.Config[k] {
			t.Errorf("copy's %s = %q, source's %q", k, dst.Config[k], src.Config[k])
		}
	}
	if got := e.readFile("c2", "a"); got != "after" {
		t.Errorf("copy's file %q, want the source's live one", got)
	}
	if got := e.snapshotNames("c2"); len(got) != 1 || got[0] != "snap0" {
		t.Errorf("copy's snapshots %v, want [snap0]", got)
	}
	b, err := os.ReadFile(filepath.Join(e.pool, "c2", "snapshots", "snap0", "rootfs", "a"))
	if err != nil || string(b) != "before" {
		t.Errorf("copy's snapshot file: %q, %v", b, err)
	}
	if r := e.imgs.Renders(); r[len(r)-1].Trigger != "copy" || r[len(r)-1].Instance != "c2" {
		t.Errorf("last render %+v, want the copy templates of c2", r[len(r)-1])
	}
	if got := e.readFile("c1", "a"); got != "after" {
		t.Errorf("source's file changed to %q", got)
	}
}

// TestCopyFromSnapshotAndInstanceOnly: a copy of c1/snap0 holds the snapshot's files and no
// snapshots; an instance-only copy holds the live files and no snapshots.
func TestCopyFromSnapshotAndInstanceOnly(t *testing.T) {
	e := newEnv(t)
	e.create("c1")
	e.writeFile("c1", "a", "before")
	e.snapshot("c1", "snap0")
	e.writeFile("c1", "a", "after")
	if _, err := e.mgr.Create(e.ctx, copyReq("c1/snap0", "fromsnap"), nil); err != nil {
		t.Fatal(err)
	}
	if got := e.readFile("fromsnap", "a"); got != "before" {
		t.Errorf("copy of a snapshot has %q, want the snapshot's file", got)
	}
	only := copyReq("c1", "only")
	only.Source.InstanceOnly = true
	if _, err := e.mgr.Create(e.ctx, only, nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"fromsnap", "only"} {
		if got := e.snapshotNames(n); len(got) != 0 {
			t.Errorf("%s has snapshots %v", n, got)
		}
		if _, err := os.Stat(filepath.Join(e.pool, n, "snapshots")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s has a snapshots dir: %v", n, err)
		}
	}
}

// TestCopyRunningSourceIsFrozen: a running source is frozen for the copy and thawed after,
// the freeze marker goes, and it keeps running.
func TestCopyRunningSourceIsFrozen(t *testing.T) {
	e := newEnv(t)
	e.launch("c1")
	if _, err := e.mgr.Create(e.ctx, copyReq("c1", "c2"), nil); err != nil {
		t.Fatal(err)
	}
	if fz, th := e.rt.Freezes(); fz != 1 || th != 1 {
		t.Errorf("%d freezes, %d thaws, want 1 and 1", fz, th)
	}
	if _, err := os.Stat(filepath.Join(e.pool, "c1", "frozen-by-lited")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("freeze marker left: %v", err)
	}
	if !e.rt.Running("c1") || e.rt.Running("c2") {
		t.Errorf("running: c1 %v (want true), c2 %v (want false)", e.rt.Running("c1"), e.rt.Running("c2"))
	}
}

// TestCopyFailsMidwayLeavesNothing: when the copy's templates fail after its files were
// copied, the files go, no row is written, and a running source is thawed and keeps running.
func TestCopyFailsMidwayLeavesNothing(t *testing.T) {
	e := newEnv(t)
	e.launch("c1")
	e.snapshot("c1", "snap0")
	e.imgs.SetRenderErr(errors.New("template exploded"))
	_, err := e.mgr.Create(e.ctx, copyReq("c1", "c2"), nil)
	if err == nil || !strings.Contains(err.Error(), "template exploded") {
		t.Fatalf("copy with failing templates: %v", err)
	}
	e.wantGone("c2")
	if got := e.snapshotNames("c2"); len(got) != 0 {
		t.Errorf("snapshot rows of the failed copy: %v", got)
	}
	e.wantActions()
	if fz, th := e.rt.Freezes(); fz != th {
		t.Errorf("%d freezes, %d thaws", fz, th)
	}
	if !e.rt.Running("c1") {
		t.Error("the source stopped")
	}
	if got := e.poolEntries(); len(got) != 1 || got[0] != "c1" {
		t.Errorf("containers dir %v, want only c1", got)
	}
}

// TestCopyRefusedLeavesNothing: a missing source or snapshot, a taken name and a change of
// security.privileged are refused with their kinds and leave nothing.
func TestCopyRefusedLeavesNothing(t *testing.T) {
	e := newEnv(t)
	e.create("c1")
	e.create("taken")
	e.writeFile("taken", "mine", "x")
	priv := copyReq("c1", "c2")
	priv.Config = map[string]string{"security.privileged": "true"}
	tests := []struct {
		what string
		req  api.InstancesPost
		kind error
	}{
		{"missing source", copyReq("nope", "c2"), api.ErrNotFound},
		{"missing snapshot", copyReq("c1/nope", "c2"), api.ErrNotFound},
		{"bad snapshot name", copyReq("c1/a b", "c2"), api.ErrInvalid},
		{"no source", copyReq("", "c2"), api.ErrInvalid},
		{"taken name", copyReq("c1", "taken"), api.ErrAlreadyExists},
		{"privileged changes", priv, api.ErrInvalid},
	}
	for _, tt := range tests {
		_, err := e.mgr.Create(e.ctx, tt.req, nil)
		if !errors.Is(err, tt.kind) {
			t.Errorf("%s: err = %v, want %v", tt.what, err, tt.kind)
		}
	}
	e.wantGone("c2")
	e.wantActions()
	if got := e.readFile("taken", "mine"); got != "x" {
		t.Errorf("the existing instance's files changed: %q", got)
	}
	if got := e.poolEntries(); len(got) != 2 {
		t.Errorf("containers dir %v, want c1 and taken", got)
	}
}

// TestRename: the row, the directory and the snapshots follow the new name, the "rename"
// templates run, the journal goes, and the old name is free.
func TestRename(t *testing.T) {
	e := newEnv(t)
	e.create("c1")
	e.writeFile("c1", "a", "mine")
	e.snapshot("c1", "snap0")
	if err := e.mgr.Rename(e.ctx, "c1", "c2"); err != nil {
		t.Fatal(err)
	}
	e.wantActions("instance-renamed")
	e.wantGone("c1")
	e.row("c2")
	if got := e.readFile("c2", "a"); got != "mine" {
		t.Errorf("renamed instance's file %q", got)
	}
	if got := e.snapshotNames("c2"); len(got) != 1 || got[0] != "snap0" {
		t.Errorf("renamed instance's snapshots %v", got)
	}
	if got := e.poolEntries(); len(got) != 1 || got[0] != "c2" {
		t.Errorf("containers dir %v, want only c2 (no journal)", got)
	}
	if r := e.imgs.Renders(); r[len(r)-1].Trigger != "rename" || r[len(r)-1].Instance != "c2" {
		t.Errorf("last render %+v, want the rename templates of c2", r[len(r)-1])
	}
	e.create("c1")
	if err := e.mgr.Rename(e.ctx, "c1", "C1"); err != nil {
		t.Errorf("changing the case of its own name: %v", err)
	}
}

// TestRenameRefused: onto an existing name (in any case), of a running or missing instance,
// or to a bad name: refused with its kind, and both instances stay as they were.
func TestRenameRefused(t *testing.T) {
	e := newEnv(t)
	e.create("c1")
	e.create("c2")
	e.writeFile("c1", "who", "c1")
	e.writeFile("c2", "who", "c2")
	e.launch("r1")
	tests := []struct {
		what, from, to string
		kind           error
	}{
		{"existing name", "c1", "c2", api.ErrAlreadyExists},
		{"existing name in another case", "c1", "C2", api.ErrAlreadyExists},
		{"running", "r1", "r2", api.ErrInvalid},
		{"missing", "nope", "n2", api.ErrNotFound},
		{"bad name", "c1", "9lives", api.ErrInvalid},
	}
	for _, tt := range tests {
		wantKind(t, tt.what, e.mgr.Rename(e.ctx, tt.from, tt.to), tt.kind)
	}
	e.wantActions()
	for _, n := range []string{"c1", "c2"} {
		if got := e.readFile(n, "who"); got != n {
			t.Errorf("%s's files now hold %q", n, got)
		}
		e.row(n)
	}
	if !e.rt.Running("r1") {
		t.Error("r1 stopped")
	}
	if got := e.poolEntries(); strings.Join(got, " ") != "c1 c2 r1" {
		t.Errorf("containers dir %v, want c1 c2 r1", got)
	}
}

// TestRecoverFinishesRename: a rename a crash cut short is finished (row renamed, directory
// not) or undone (directory moved, row not) at the next start, from its journal.
func TestRecoverFinishesRename(t *testing.T) {
	e := newEnv(t)
	e.create("rowdone")
	e.create("dirdone")
	e.writeFile("rowdone", "who", "rowdone")
	e.writeFile("dirdone", "who", "dirdone")
	journal := func(from, to string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(e.pool, ".rename-"+from), []byte(to), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	journal("rowdone", "new1")
	if err := e.db.RenameInstance(e.ctx, "rowdone", "new1"); err != nil {
		t.Fatal(err)
	}
	journal("dirdone", "new2")
	if err := os.Rename(filepath.Join(e.pool, "dirdone"), filepath.Join(e.pool, "new2")); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Recovery.Recover(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.poolEntries(); strings.Join(got, " ") != "dirdone new1" {
		t.Errorf("containers dir %v, want dirdone new1 (no journals)", got)
	}
	if got := e.readFile("new1", "who"); got != "rowdone" {
		t.Errorf("new1 holds %q, want rowdone's files", got)
	}
	if got := e.readFile("dirdone", "who"); got != "dirdone" {
		t.Errorf("dirdone holds %q, want its own files", got)
	}
	e.row("new1")
	e.row("dirdone")
}
