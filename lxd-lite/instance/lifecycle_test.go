package instance_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lite/client/api"
	"lite/lxd-lite/instance"
)

// TestCreateMakesStoppedInstance: a create writes the row with the image's properties and
// the volatile keys, the files from the image layer, runs the "create" templates and
// publishes instance-created; nothing runs.
func TestCreateMakesStoppedInstance(t *testing.T) {
	e := newEnv(t)
	name, err := e.mgr.Create(e.ctx, api.InstancesPost{Name: "c1", Source: api.InstanceSource{Type: "image", Alias: "debian/12"}}, nil)
	if err != nil || name != "c1" {
		t.Fatalf("create: %q, %v", name, err)
	}
	e.wantActions("instance-created")
	inst := e.row("c1")
	for k, want := range map[string]string{
		"image.os": "debian", "image.release": "12", "volatile.base_image": testFP,
		"volatile.idmap.base": "100000", "volatile.last_state.power": "STOPPED",
	} {
		if inst.Config[k] != want {
			t.Errorf("config %s = %q, want %q", k, inst.Config[k], want)
		}
	}
	if inst.Config["volatile.uuid"] == "" {
		t.Error("no volatile.uuid")
	}
	if len(inst.Profiles) != 1 || inst.Profiles[0] != "default" {
		t.Errorf("profiles %v, want [default]", inst.Profiles)
	}
	if st, err := os.Stat(filepath.Join(e.pool, "c1", "rootfs")); err != nil || !st.IsDir() {
		t.Errorf("rootfs of c1: %v", err)
	}
	renders := e.imgs.Renders()
	if len(renders) != 1 || renders[0].Trigger != "create" || renders[0].Instance != "c1" || renders[0].IDMap == nil {
		t.Errorf("renders %+v, want one create render with the id map", renders)
	}
	if e.rt.Running("c1") || len(e.rt.Starts()) != 0 {
		t.Error("create started the container")
	}
}

// TestCreateRefusedLeavesNothing: every refused create, early or late, leaves no row, no
// directory and no event, and says what was wrong with a kind.
func TestCreateRefusedLeavesNothing(t *testing.T) {
	e := newEnv(t)
	e.create("taken")
	img := api.InstanceSource{Type: "image", Alias: "debian/12"}
	tests := []struct {
		what string
		req  api.InstancesPost
		kind error
		gone string // the name that must have left nothing
	}{
		{"bad name", api.InstancesPost{Name: "-x", Source: img}, api.ErrInvalid, "-x"},
		{"vm", api.InstancesPost{Name: "vm1", Type: "virtual-machine", Source: img}, api.ErrInvalid, "vm1"},
		{"no image", api.InstancesPost{Name: "c2", Source: api.InstanceSource{Type: "image"}}, api.ErrInvalid, "c2"},
		{"source none", api.InstancesPost{Name: "c2", Source: api.InstanceSource{Type: "none"}}, api.ErrInvalid, "c2"},
		{"unknown image", api.InstancesPost{Name: "c2", Source: api.InstanceSource{Type: "image", Alias: "nope/1"}}, api.ErrNotFound, "c2"},
		{"unknown key", api.InstancesPost{Name: "c2", Source: img, InstancePut: api.InstancePut{Config: map[string]string{"bogus.key": "1"}}}, api.ErrInvalid, "c2"},
		{"bad limit", api.InstancesPost{Name: "c2", Source: img, InstancePut: api.InstancePut{Config: map[string]string{"limits.memory": "lots"}}}, api.ErrInvalid, "c2"},
		{"unknown profile", api.InstancesPost{Name: "c2", Source: img, InstancePut: api.InstancePut{Profiles: []string{"nope"}}}, api.ErrNotFound, "c2"},
		{"name taken", api.InstancesPost{Name: "taken", Source: img}, api.ErrAlreadyExists, ""},
		{"name taken in another case", api.InstancesPost{Name: "TAKEN", Source: img}, api.ErrAlreadyExists, "TAKEN"},
	}
	for _, tt := range tests {
		_, err := e.mgr.Create(e.ctx, tt.req, nil)
		if !errors.Is(err, tt.kind) {
			t.Errorf("%s: err = %v, want %v", tt.what, err, tt.kind)
			continue
		}
		if tt.gone != "" {
			e.wantGone(tt.gone)
		}
	}
	e.wantActions()
	if got := e.poolEntries(); len(got) != 1 || got[0] != "taken" {
		t.Errorf("containers dir %v, want only taken", got)
	}
	if inst := e.row("taken"); inst.Config["volatile.base_image"] != testFP {
		t.Errorf("the existing instance changed: %v", inst.Config)
	}
}

// TestCreateRenderFailsLeavesNothing: a failure after the files were made (the create
// templates) removes them; no row is written.
func TestCreateRenderFailsLeavesNothing(t *testing.T) {
	e := newEnv(t)
	e.imgs.SetRenderErr(errors.New("template exploded"))
	_, err := e.mgr.Create(e.ctx, api.InstancesPost{Name: "c1", Source: api.InstanceSource{Type: "image", Alias: "debian/12"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "template exploded") {
		t.Fatalf("create with failing templates: %v", err)
	}
	e.wantGone("c1")
	e.wantActions()
	if got := e.poolEntries(); len(got) != 0 {
		t.Errorf("containers dir %v, want empty", got)
	}
	e.imgs.SetRenderErr(nil)
	e.create("c1") // the name is free again
}

// TestStartStop: start runs the container with its spec, records the power state and
// publishes instance-started; a forced stop ends it and releases its devices.
func TestStartStop(t *testing.T) {
	e := newEnv(t)
	e.create("c1")
	if err := e.mgr.Start(e.ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	e.wantActions("instance-started")
	starts := e.rt.Starts()
	if len(starts) != 1 {
		t.Fatalf("%d runtime starts, want 1", len(starts))
	}
	spec := starts[0]
	if spec.Name != "c1" || spec.Hostname != "c1" || spec.IDMap == nil || spec.IDMap.UID != 100000 ||
		spec.Rootfs != "dir:"+filepath.Join(e.pool, "c1", "rootfs") || spec.Dir != filepath.Join(e.pool, "c1") {
		t.Errorf("start spec %+v", spec)
	}
	if got := e.row("c1").Config["volatile.last_state.power"]; got != "RUNNING" {
		t.Errorf("power state %q after start, want RUNNING", got)
	}
	if got := e.devs.holding(); len(got) != 1 || got[0] != "c1/root" {
		t.Errorf("devices held %v, want c1/root", got)
	}
	if r := e.imgs.Renders(); r[len(r)-1].Trigger != "start" {
		t.Errorf("last render %+v, want the start templates", r[len(r)-1])
	}

	err := e.mgr.Start(e.ctx, "c1")
	wantKind(t, "second start", err, api.ErrInvalid)
	if len(e.rt.Starts()) != 1 {
		t.Error("a second start reached the runtime")
	}

	if err := e.mgr.Stop(e.ctx, "c1", instance.StopOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	e.wantActions("instance-stopped")
	if e.rt.Running("c1") {
		t.Error("c1 runs after stop")
	}
	if got := e.row("c1").Config["volatile.last_state.power"]; got != "STOPPED" {
		t.Errorf("power state %q after stop, want STOPPED", got)
	}
	if got := e.devs.holding(); len(got) != 0 {
		t.Errorf("devices held after stop: %v", got)
	}
}

// TestStopStopped: stopping a stopped instance is refused, reaches no runtime and publishes
// nothing; stopping a missing one is ErrNotFound.
func TestStopStopped(t *testing.T) {
	e := newEnv(t)
	e.create("c1")
	for _, opts := range []instance.StopOptions{{Force: true}, {Timeout: time.Minute}} {
		err := e.mgr.Stop(e.ctx, "c1", opts)
		wantNotRunning(t, "stop of a stopped instance", err)
		if !strings.Contains(err.Error(), "already stopped") {
			t.Errorf("stop of a stopped instance: %q does not say it is already stopped", err)
		}
	}
	if n := len(e.rt.Stops()); n != 0 {
		t.Errorf("%d runtime stops", n)
	}
	e.wantActions()
	wantKind(t, "stop of a missing instance", e.mgr.Stop(e.ctx, "nope", instance.StopOptions{Force: true}), api.ErrNotFound)
}

// TestCleanStopIsShutdown: a stop with a timeout is a clean shutdown (its own event) and
// passes the timeout to the runtime.
func TestCleanStopIsShutdown(t *testing.T) {
	e := newEnv(t)
	e.launch("c1")
	if err := e.mgr.Stop(e.ctx, "c1", instance.StopOptions{Timeout: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	e.wantActions("instance-shutdown")
	if s := e.rt.Stops(); len(s) != 1 || s[0].Opts.Timeout != 30*time.Second || s[0].Opts.Force {
		t.Errorf("runtime stops %+v", s)
	}
}

// TestStartFailsLeavesNothingRunning: when the runtime cannot start the container, its
// devices are undone, the power state stays STOPPED, nothing is published, and the instance
// can still be started later or deleted without a trace.
func TestStartFailsLeavesNothingRunning(t *testing.T) {
	e := newEnv(t)
	e.create("c1")
	e.rt.SetStartErr(errors.New("lxc-start: no init"))
	err := e.mgr.Start(e.ctx, "c1")
	if err == nil || !strings.Contains(err.Error(), "no init") {
		t.Fatalf("start with a failing runtime: %v", err)
	}
	if e.rt.Running("c1") {
		t.Error("c1 runs")
	}
	if got := e.devs.holding(); len(got) != 0 {
		t.Errorf("devices held after a failed start: %v", got)
	}
	if got := e.row("c1").Config["volatile.last_state.power"]; got != "STOPPED" {
		t.Errorf("power state %q after a failed start, want STOPPED", got)
	}
	e.wantActions()

	e.rt.SetStartErr(nil)
	if err := e.mgr.Start(e.ctx, "c1"); err != nil {
		t.Fatalf("start once the runtime works: %v", err)
	}
	if err := e.mgr.Stop(e.ctx, "c1", instance.StopOptions{Force: true}); err != nil {
		t.Fatal(err)
	}

	e.create("c2")
	e.rt.SetStartErr(errors.New("lxc-start: no init"))
	if err := e.mgr.Start(e.ctx, "c2"); err == nil {
		t.Fatal("start of c2 with a failing runtime succeeded")
	}
	if err := e.mgr.Delete(e.ctx, "c2"); err != nil {
		t.Fatalf("delete after a failed start: %v", err)
	}
	e.wantGone("c2")
}

// TestStartDeviceFailsUndoesDevices: a device that fails at start undoes the ones started
// before it, and the runtime is never asked.
func TestStartDeviceFailsUndoesDevices(t *testing.T) {
	e := newEnv(t)
	_, err := e.mgr.Create(e.ctx, api.InstancesPost{Name: "c1", Source: api.InstanceSource{Type: "image", Alias: "debian/12"},
		InstancePut: api.InstancePut{Devices: map[string]map[string]string{"data": {"type": "disk", "source": e.dir, "path": "/mnt"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.devs.setFail(errors.New("no such bridge"))
	err = e.mgr.Start(e.ctx, "c1")
	if err == nil || !strings.Contains(err.Error(), "no such bridge") {
		t.Fatalf("start with a failing device: %v", err)
	}
	if n := len(e.rt.Starts()); n != 0 {
		t.Errorf("%d runtime starts after a device failed", n)
	}
	if got := e.devs.holding(); len(got) != 0 {
		t.Errorf("devices held: %v", got)
	}
}

// TestRestart stops and starts under one lock and publishes all three events.
func TestRestart(t *testing.T) {
	e := newEnv(t)
	e.launch("c1")
	if err := e.mgr.Restart(e.ctx, "c1", instance.StopOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	e.wantActions("instance-stopped", "instance-started", "instance-restarted")
	if !e.rt.Running("c1") || len(e.rt.Starts()) != 2 || len(e.rt.Stops()) != 1 {
		t.Errorf("after restart: running %v, %d starts, %d stops", e.rt.Running("c1"), len(e.rt.Starts()), len(e.rt.Stops()))
	}
	e.create("c2")
	wantNotRunning(t, "restart of a stopped instance", e.mgr.Restart(e.ctx, "c2", instance.StopOptions{Force: true}))
	if e.rt.Running("c2") {
		t.Error("a refused restart started c2")
	}
}

// TestDelete: a running instance is refused (it keeps running, its row and files stay); a
// stopped one goes entirely; a missing one is ErrNotFound.
func TestDelete(t *testing.T) {
	e := newEnv(t)
	e.launch("c1")
	err := e.mgr.Delete(e.ctx, "c1")
	wantKind(t, "delete of a running instance", err, api.ErrInvalid)
	if !strings.Contains(err.Error(), "stop it first") {
		t.Errorf("error %q does not say what to do", err)
	}
	if !e.rt.Running("c1") {
		t.Error("a refused delete stopped c1")
	}
	e.row("c1")
	if _, err := os.Stat(filepath.Join(e.pool, "c1", "rootfs")); err != nil {
		t.Errorf("files of c1 after a refused delete: %v", err)
	}
	e.wantActions()

	if err := e.mgr.Stop(e.ctx, "c1", instance.StopOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	e.actions()
	if err := e.mgr.Delete(e.ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	e.wantActions("instance-deleted")
	e.wantGone("c1")
	if got := e.poolEntries(); len(got) != 0 {
		t.Errorf("containers dir %v after delete, want empty", got)
	}
	wantKind(t, "delete of a missing instance", e.mgr.Delete(e.ctx, "c1"), api.ErrNotFound)
}

// TestRecoverRemovesLeftovers: a directory without a row (a create or delete cut short) is
// removed at the next start; instances with rows keep theirs.
func TestRecoverRemovesLeftovers(t *testing.T) {
	e := newEnv(t)
	e.create("c1")
	if err := os.MkdirAll(filepath.Join(e.pool, "half", "rootfs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Recovery.Recover(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.poolEntries(); len(got) != 1 || got[0] != "c1" {
		t.Errorf("containers dir %v after recovery, want only c1", got)
	}
}
