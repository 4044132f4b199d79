package instance_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/events"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/instance/instancetest"
	"lite/lxd-lite/storage"
)

// testFP is the image instances are made from; its alias is debian/12.
const testFP = instancetest.ImageFP

// env is an instance.Manager on a real SQLite database in a temp dir, the dir storage driver
// (no root: no mounts) under it, the fake runtime and images, and a device handler that
// records what it holds.
type env struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	pool string // the containers directory
	db   *db.DB
	rt   *instancetest.Runtime
	imgs *instancetest.Images
	devs *recDevices
	svc  *instance.Services
	mgr  *instance.Manager
	sub  *events.Subscription
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	database := instancetest.NewDB(t)
	e := &env{t: t, ctx: ctx, dir: dir, pool: filepath.Join(dir, "containers"), db: database}
	for _, d := range []string{e.pool, filepath.Join(dir, "images")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	hub := events.NewHub()
	e.sub = hub.Subscribe(api.EventTypeLifecycle)
	t.Cleanup(e.sub.Close)
	e.rt = instancetest.NewRuntime()
	e.imgs = &instancetest.Images{DB: database, Dir: filepath.Join(dir, "images")}
	e.devs = &recDevices{held: map[string]int{}}
	e.svc = instance.New(instance.Config{
		DB: database, Runtime: e.rt, Pool: &storage.Pool{Dir: e.pool, Driver: storage.Dir},
		Images: e.imgs, Hub: hub, IDMap: idmap.Map{UID: 100000, GID: 100000, Size: 65536},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Devices: map[string]instance.DeviceHandler{"disk": e.devs},
		Cgroups: instance.CgroupHost{V1: map[string]bool{"memory": true, "pids": true}, CPUs: 2, MemoryBytes: 4 << 30},
	})
	e.mgr = e.svc.Instances
	return e
}

// create makes a stopped instance from the test image and drops its events.
func (e *env) create(name string) {
	e.t.Helper()
	got, err := e.mgr.Create(e.ctx, api.InstancesPost{Name: name, Source: api.InstanceSource{Type: "image", Alias: "debian/12"}}, nil)
	if err != nil || got != name {
		e.t.Fatalf("create %s: %q, %v", name, got, err)
	}
	e.actions()
}

// launch makes a running instance and drops its events.
func (e *env) launch(name string) {
	e.t.Helper()
	e.create(name)
	if err := e.mgr.Start(e.ctx, name); err != nil {
		e.t.Fatalf("start %s: %v", name, err)
	}
	e.actions()
}

// actions returns the lifecycle actions published since the last call. The manager publishes
// before its call returns, so everything a finished call published is already queued.
func (e *env) actions() []string {
	var out []string
	for {
		select {
		case ev := <-e.sub.C:
			lc, ok := ev.Metadata.(api.EventLifecycle)
			if !ok {
				e.t.Fatalf("lifecycle event with metadata %T", ev.Metadata)
			}
			out = append(out, lc.Action)
		default:
			return out
		}
	}
}

// wantActions checks the lifecycle actions published since the last check.
func (e *env) wantActions(want ...string) {
	e.t.Helper()
	got := e.actions()
	if len(got) != len(want) {
		e.t.Errorf("lifecycle events %v, want %v", got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			e.t.Errorf("lifecycle events %v, want %v", got, want)
			return
		}
	}
}

// row returns an instance's database row; it fails the test when there is none.
func (e *env) row(name string) db.Instance {
	e.t.Helper()
	inst, err := e.db.GetInstance(e.ctx, name)
	if err != nil {
		e.t.Fatalf("row of %s: %v", name, err)
	}
	return inst
}

// wantGone checks that nothing of name is left: no row, no directory, not running.
func (e *env) wantGone(name string) {
	e.t.Helper()
	if _, err := e.db.GetInstance(e.ctx, name); !errors.Is(err, api.ErrNotFound) {
		e.t.Errorf("row of %s: err = %v, want ErrNotFound", name, err)
	}
	if _, err := os.Lstat(filepath.Join(e.pool, name)); !errors.Is(err, os.ErrNotExist) {
		e.t.Errorf("directory of %s: %v, want none", name, err)
	}
	if e.rt.Running(name) {
		e.t.Errorf("%s still runs", name)
	}
}

// poolEntries lists the containers directory (temp and journal files included).
func (e *env) poolEntries() []string {
	e.t.Helper()
	entries, err := os.ReadDir(e.pool)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, de := range entries {
		out = append(out, de.Name())
	}
	sort.Strings(out)
	return out
}

// writeFile writes a file into a stopped instance's root filesystem (the dir driver's rootfs/).
func (e *env) writeFile(name, path, content string) {
	e.t.Helper()
	p := filepath.Join(e.pool, name, "rootfs", path)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// readFile reads a file of an instance's root filesystem ("" when it does not exist).
func (e *env) readFile(name, path string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.pool, name, "rootfs", path))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// wantKind fails the test unless err carries kind.
func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: err = %v, want %v", what, err, kind)
	}
}

// wantNotRunning checks a "not running" refusal. Issue 12 item 5 gives that meaning one
// kind; until it lands, stop says ErrInvalid and the runtime ErrNotRunning.
func wantNotRunning(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, api.ErrInvalid) && !errors.Is(err, api.ErrNotRunning) {
		t.Fatalf("%s: err = %v, want a not-running refusal", what, err)
	}
}

// recDevices is a device handler that records what each instance's devices hold on the host,
// and can be told to fail.
type recDevices struct {
	mu      sync.Mutex
	held    map[string]int // instance/device -> starts not undone nor stopped
	failErr error
}

func (d *recDevices) Start(ctx context.Context, inst instance.DeviceContext, name string, dev map[string]string, spec *instance.RunSpec) (func(), error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failErr != nil {
		return nil, d.failErr
	}
	key := inst.Name + "/" + name
	d.held[key]++
	return func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.held[key]--
	}, nil
}

func (d *recDevices) Stop(ctx context.Context, inst instance.DeviceContext, name string, dev map[string]string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.held, inst.Name+"/"+name)
	return nil
}

// setFail makes later device starts fail with err (nil: succeed).
func (d *recDevices) setFail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failErr = err
}

// holding returns the devices that hold something, as instance/device.
func (d *recDevices) holding() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for k, n := range d.held {
		if n != 0 {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
