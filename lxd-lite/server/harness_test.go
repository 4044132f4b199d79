package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"lite/client/api"
	"lite/db"
	"lite/images"
	"lite/lxd-lite/cluster"
	"lite/lxd-lite/device"
	"lite/lxd-lite/events"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/imagesvc"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/instance/instancetest"
	"lite/lxd-lite/operations"
	"lite/lxd-lite/server"
	"lite/lxd-lite/settings"
	"lite/lxd-lite/storage"
	"lite/test/roottest"
)

// testFP is the image the tests create instances from; its alias is debian/12.
const testFP = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// env is lited wired with fakes behind its real API, served on a temp unix socket.
type env struct {
	t      *testing.T
	dir    string
	pool   string // the containers directory
	socket string
	db     *db.DB
	hub    *events.Hub
	rt     *instancetest.Runtime
	imgs   *instancetest.Images
	store  *images.Store // the real image store behind the image endpoints
	http   *http.Client
	ws     *websocket.Dialer
	info   api.Server
	sched  *instance.Scheduler
	ops    *operations.Manager
	cons   *fakeConsoles // with envOptions.console
	url    string        // the API over HTTPS, with envOptions.cluster
}

func newEnv(t *testing.T) *env { t.Helper(); return newEnvWith(t, envOptions{}) }

// envOptions add fakes to the env: device handlers by type, and networks.
type envOptions struct {
	devices  map[string]instance.DeviceHandler
	networks server.Networks
	// allowRawLXCHooks is lited's --allow-raw-lxc-hooks.
	allowRawLXCHooks bool
	// overlay uses the overlay storage driver (backups need it; the default is dir).
	overlay bool
	// console gives the fake runtime consoles (a host pty per instance).
	console bool
	// cluster makes the daemon a cluster member served also over HTTPS (env.url), with db
	// the database it shares with the other members (nil: its own).
	cluster *fakeCluster
	db      *db.DB
}

// newEnvWith is newEnv with the fakes of o wired in.
func newEnvWith(t *testing.T, o envOptions) *env {
	t.Helper()
	// Unix socket paths are limited to 108 bytes; t.TempDir() can exceed that.
	dir, err := os.MkdirTemp("", "lite-srv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	ctx := context.Background()
	database := o.db
	if database == nil {
		if database, err = db.Open(ctx, filepath.Join(dir, "lite.db")); err != nil {
			t.Fatal(err)
		}
	}
	err = database.CreateImage(ctx, db.Image{
		Fingerprint: testFP, Filename: "debian-12.tar.xz", Size: 1000, Architecture: "x86_64", Type: "container",
		Properties: map[string]string{"os": "debian", "release": "12"},
		CreatedAt:  time.Now(), UploadedAt: time.Now(),
		Aliases: []db.Alias{{Name: "debian/12", Description: "Debian 12"}},
	})
	if err != nil && !(o.db != nil && errors.Is(err, api.ErrAlreadyExists)) {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, pool: filepath.Join(dir, "containers"), socket: filepath.Join(dir, "unix.socket"), db: database}
	for _, d := range []string{e.pool, filepath.Join(dir, "images"), filepath.Join(dir, "work")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.hub = events.NewHub()
	e.rt = instancetest.NewRuntime()
	e.rt.WorkDir = filepath.Join(dir, "work")
	e.imgs = &instancetest.Images{DB: database, Dir: filepath.Join(dir, "images")}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	devs := map[string]instance.DeviceHandler{"disk": coldDisk{&device.Disk{StateDir: dir}}}
	for k, v := range o.devices {
		devs[k] = v
	}
	driver := storage.Dir
	if o.overlay {
		roottest.Require(t, "overlay mounts")
		driver = storage.Overlay
	}
	var rt instance.Runtime = e.rt
	if o.console {
		e.cons = &fakeConsoles{Runtime: e.rt, t: t}
		rt = e.cons
	}
	svc := instance.New(instance.Config{
		DB: database, Runtime: rt, Pool: &storage.Pool{Dir: e.pool, Driver: driver},
		Images: e.imgs, Hub: e.hub, IDMap: idmap.Map{UID: 100000, GID: 100000, Size: 65536}, Log: log,
		Devices: devs, AllowRawLXCHooks: o.allowRawLXCHooks, Node: o.cluster.nodeFunc(),
		Cgroups: instance.CgroupHost{
			V1:   map[string]bool{"cpu": true, "cpuacct": true, "cpuset": true, "memory": true, "pids": true, "blkio": true},
			CPUs: 2, MemoryBytes: 4 << 30, BlkioWeight: "blkio.weight",
		},
	})
	e.sched = svc.Scheduler
	e.info = api.Server{
		ServerPut:     api.ServerPut{Config: map[string]string{}},
		APIExtensions: []string{"instances", "api_filtering", "instance_get_full"}, APIStatus: "stable", APIVersion: "1.0",
		Auth: "trusted", AuthMethods: []string{"tls"},
		Environment: api.ServerEnvironment{Addresses: []string{}, KernelFeatures: map[string]string{}, LXCFeatures: map[string]string{},
			Server: "lite", ServerName: "test", Storage: "dir", StorageSupportedDrivers: []any{}},
	}
	e.store = &images.Store{Dir: filepath.Join(dir, "store")}
	imgsvc := &imagesvc.Service{DB: database, Store: e.store, TmpDir: filepath.Join(dir, "tmp"), Log: log}
	e.ops = operations.NewManager(context.Background(), e.hub)
	srv := &server.Server{
		Instances: svc.Instances, Snapshots: svc.Snapshots, Backups: svc.Backups, Profiles: svc.Profiles, Metadata: svc.Metadata, Files: svc.Files,
		Networks: o.networks, Images: imgsvc, Settings: &settings.Service{DB: database}, Ops: e.ops, Hub: e.hub, Log: log,
		Info: func() api.Server { return e.info }, Placement: database,
	}
	srv.Cluster = cluster.New(dir, database, log)
	srv.Route = srv.Cluster
	if o.cluster != nil {
		srv.Route = o.cluster
		e.url = serveTLS(t, srv.HTTPSHandler())
	}
	ln, err := net.Listen("unix", e.socket)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go func() { _ = hs.Serve(ln) }()
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", e.socket)
	}
	e.http = &http.Client{Transport: &http.Transport{DialContext: dial}, Timeout: 60 * time.Second}
	e.ws = &websocket.Dialer{NetDialContext: dial, HandshakeTimeout: 10 * time.Second}
	t.Cleanup(func() {
		e.rt.KillAll()
		// Let operations that are still running (a failed test) finish before the files go.
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := e.ops.Shutdown(sctx); err != nil {
			t.Errorf("operations left running: %v", err)
		}
		_ = hs.Close()
		if o.db != nil {
			return // the test that shares it closes it
		}
		if err := database.Close(); err != nil {
			t.Errorf("close db: %v", err)
		}
	})
	return e
}

// reply is one HTTP answer with its envelope decoded.
type reply struct {
	status int
	header http.Header
	body   []byte
	env    api.Response
}

// do sends a request; body is sent verbatim if it is a string, else as JSON (nil: no body).
// Every answer must be a well-formed envelope whose codes agree with the HTTP status.
func (e *env) do(method, path string, body any) reply {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, "http://unix.socket"+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out := reply{status: resp.StatusCode, header: resp.Header}
	if out.body, err = io.ReadAll(resp.Body); err != nil {
		e.t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		e.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if err := json.Unmarshal(out.body, &out.env); err != nil {
		e.t.Fatalf("%s %s: HTTP %d body is not a JSON envelope: %v\n%s", method, path, resp.StatusCode, err, out.body)
	}
	switch out.env.Type {
	case api.SyncResponse:
		if (out.status != 200 && out.status != 201) || out.env.StatusCode != 200 || out.env.Status != "Success" {
			e.t.Errorf("%s %s: sync reply with HTTP %d, status %q/%d", method, path, out.status, out.env.Status, out.env.StatusCode)
		}
	case api.AsyncResponse:
		loc := resp.Header.Get("Location")
		if out.status != 202 || out.env.StatusCode != 100 || loc == "" || out.env.Operation != loc {
			e.t.Errorf("%s %s: async reply with HTTP %d, status_code %d, Location %q, operation %q", method, path, out.status, out.env.StatusCode, loc, out.env.Operation)
		}
	case api.ErrorResponse:
		if out.env.ErrorCode != out.status || out.env.Error == "" || string(out.env.Metadata) != "null" {
			e.t.Errorf("%s %s: error reply HTTP %d with error_code %d, error %q, metadata %s", method, path, out.status, out.env.ErrorCode, out.env.Error, out.env.Metadata)
		}
	default:
		e.t.Errorf("%s %s: envelope type %q", method, path, out.env.Type)
	}
	return out
}

// try sends a JSON request and decodes the envelope; it is safe to call from any goroutine.
func (e *env) try(method, path string, body any) (int, api.Response, error) {
	j, err := json.Marshal(body)
	if err != nil {
		return 0, api.Response{}, err
	}
	req, err := http.NewRequest(method, "http://unix.socket"+path, bytes.NewReader(j))
	if err != nil {
		return 0, api.Response{}, err
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, api.Response{}, err
	}
	defer resp.Body.Close()
	var out api.Response
	err = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, err
}

// ok sends a request that must succeed synchronously and decodes its metadata into v.
func (e *env) ok(method, path string, body, v any) reply {
	e.t.Helper()
	r := e.do(method, path, body)
	if r.env.Type != api.SyncResponse {
		e.t.Fatalf("%s %s: HTTP %d %s", method, path, r.status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.env.Metadata, v); err != nil {
			e.t.Fatalf("%s %s: metadata: %v\n%s", method, path, err, r.env.Metadata)
		}
	}
	return r
}

// fail sends a request that must fail with HTTP status and returns the error message.
func (e *env) fail(method, path string, body any, status int) string {
	e.t.Helper()
	r := e.do(method, path, body)
	if r.status != status || r.env.Type != api.ErrorResponse {
		e.t.Errorf("%s %s: HTTP %d %s; want error %d", method, path, r.status, r.body, status)
	}
	return r.env.Error
}

// async sends a request that must start an operation and returns it.
func (e *env) async(method, path string, body any) api.Operation {
	e.t.Helper()
	r := e.do(method, path, body)
	if r.env.Type != api.AsyncResponse {
		e.t.Fatalf("%s %s: HTTP %d %s; want an operation", method, path, r.status, r.body)
	}
	var op api.Operation
	if err := json.Unmarshal(r.env.Metadata, &op); err != nil {
		e.t.Fatal(err)
	}
	if r.header.Get("Location") != "/1.0/operations/"+op.ID || op.ID == "" {
		e.t.Errorf("Location %q for operation %q", r.header.Get("Location"), op.ID)
	}
	return op
}

// wait blocks on /wait until the operation is final.
func (e *env) wait(op api.Operation) api.Operation {
	e.t.Helper()
	var got api.Operation
	e.ok("GET", "/1.0/operations/"+op.ID+"/wait?timeout=30", nil, &got)
	if !got.StatusCode.IsFinal() {
		e.t.Fatalf("operation %s (%s) not final after 30 s: %+v", op.ID, op.Description, got)
	}
	return got
}

// succeed runs an async request to success.
func (e *env) succeed(method, path string, body any) api.Operation {
	e.t.Helper()
	op := e.wait(e.async(method, path, body))
	if op.StatusCode != api.Success {
		e.t.Fatalf("%s %s: operation %s: %s", method, path, op.Status, op.Err)
	}
	return op
}

// failOp runs an async request that must end in a failed operation; it returns the error.
func (e *env) failOp(method, path string, body any) string {
	e.t.Helper()
	op := e.wait(e.async(method, path, body))
	if op.StatusCode != api.Failure || op.Err == "" {
		e.t.Fatalf("%s %s: operation %s (err %q), want Failure", method, path, op.Status, op.Err)
	}
	return op.Err
}

func (e *env) create(name string, extra map[string]any) {
	e.t.Helper()
	body := map[string]any{"name": name, "source": map[string]any{"type": "image", "fingerprint": testFP}}
	for k, v := range extra {
		body[k] = v
	}
	e.succeed("POST", "/1.0/instances", body)
}

func (e *env) start(name string) {
	e.t.Helper()
	e.succeed("PUT", "/1.0/instances/"+name+"/state", map[string]any{"action": "start", "timeout": -1})
}

func (e *env) getInstance(name string) (api.InstanceFull, map[string]json.RawMessage) {
	e.t.Helper()
	var full api.InstanceFull
	r := e.ok("GET", "/1.0/instances/"+name+"?recursion=1", nil, &full)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.env.Metadata, &raw); err != nil {
		e.t.Fatal(err)
	}
	return full, raw
}

// dial opens a websocket on the API.
func (e *env) dial(path string) (*websocket.Conn, *http.Response, error) {
	conn, resp, err := e.ws.Dial("ws://unix.socket"+path, nil)
	if err == nil {
		e.t.Cleanup(func() { _ = conn.Close() })
	}
	return conn, resp, err
}

// containers lists the pool's container directories.
func (e *env) containers() []string {
	e.t.Helper()
	ents, err := os.ReadDir(e.pool)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, d := range ents {
		out = append(out, d.Name())
	}
	return out
}

func q(s string) string { return url.QueryEscape(s) }

// coldDisk is the disk handler without hotplug: the fake runtime's containers have no mount
// namespace to attach to, so device changes wait for the next start, as for other types.
type coldDisk struct{ d *device.Disk }

func (c coldDisk) Start(ctx context.Context, inst instance.DeviceContext, name string, dev map[string]string, spec *instance.RunSpec) (func(), error) {
	return c.d.Start(ctx, inst, name, dev, spec)
}

func (c coldDisk) Stop(ctx context.Context, inst instance.DeviceContext, name string, dev map[string]string) error {
	return c.d.Stop(ctx, inst, name, dev)
}

func (c coldDisk) Validate(ctx context.Context, inst instance.DeviceContext, name string, dev map[string]string) error {
	return c.d.Validate(ctx, inst, name, dev)
}
