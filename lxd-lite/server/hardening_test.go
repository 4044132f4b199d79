package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"lite/client/api"
	"lite/db"
)

// refused sends a request that must fail, synchronously or as a failed operation, and
// returns the error.
func (e *env) refused(method, path string, body any) string {
	e.t.Helper()
	r := e.do(method, path, body)
	switch r.env.Type {
	case api.ErrorResponse:
		return r.env.Error
	case api.AsyncResponse:
		var op api.Operation
		if err := json.Unmarshal(r.env.Metadata, &op); err != nil {
			e.t.Fatal(err)
		}
		if op = e.wait(op); op.StatusCode == api.Failure && op.Err != "" {
			return op.Err
		}
	}
	e.t.Fatalf("%s %s: %s; want a refusal", method, path, r.body)
	return ""
}

const hookLine = "lxc.hook.pre-start = /bin/sh -c 'touch /tmp/lite-test-pwn'"

// raw.lxc keys that run host commands are refused from an instance, a new profile and a
// change of a profile that existing instances use, unless lited opts in; a row that holds
// one anyway (an older lited) does not start.
func TestRawLXCHooksNeedOptIn(t *testing.T) {
	e := newEnv(t)
	bad := map[string]string{"raw.lxc": "lxc.prlimit.nofile = 1024\n" + hookLine}
	msg := e.failOp("POST", "/1.0/instances", map[string]any{"name": "c1", "config": bad,
		"source": map[string]any{"type": "image", "fingerprint": testFP}})
	if !strings.Contains(msg, "--allow-raw-lxc-hooks") {
		t.Errorf("create with a hook: %s", msg)
	}
	if c := e.containers(); len(c) != 0 {
		t.Errorf("a refused create left %v", c)
	}
	e.fail("POST", "/1.0/profiles", map[string]any{"name": "evil", "config": bad}, 400)
	e.fail("POST", "/1.0/profiles", map[string]any{"name": "evil", "config": map[string]string{"raw.lxc": "lxc.apparmor.profile = unconfined"}}, 400)
	e.ok("POST", "/1.0/profiles", map[string]any{"name": "p", "config": map[string]string{"raw.lxc": "lxc.prlimit.nofile = 1024"}}, nil)
	e.create("c1", map[string]any{"profiles": []string{"default", "p"}})
	e.fail("PATCH", "/1.0/profiles/p", map[string]any{"config": bad}, 400)
	e.refused("PATCH", "/1.0/instances/c1", map[string]any{"config": map[string]string{"raw.lxc": "lxc.mount.entry = /etc etc none bind 0 0"}})
	inst, _ := e.getInstance("c1")
	if inst.ExpandedConfig["raw.lxc"] != "lxc.prlimit.nofile = 1024" {
		t.Errorf("refused changes reached the instance: raw.lxc = %q", inst.ExpandedConfig["raw.lxc"])
	}
	// Planted in the database as an older lited would have stored it: start refuses.
	if err := e.db.SetInstanceConfig(context.Background(), "c1", map[string]string{"raw.lxc": hookLine}); err != nil {
		t.Fatal(err)
	}
	if msg := e.failOp("PUT", "/1.0/instances/c1/state", map[string]any{"action": "start"}); !strings.Contains(msg, "lxc.hook.pre-start") {
		t.Errorf("start with a planted hook: %s", msg)
	}
	if len(e.rt.Starts()) != 0 {
		t.Errorf("the runtime was asked to start %+v", e.rt.Starts())
	}

	// With lited's opt-in, the same config is taken and reaches the runtime.
	o := newEnvWith(t, envOptions{allowRawLXCHooks: true})
	o.create("c2", map[string]any{"config": bad})
	o.start("c2")
	if s := o.rt.Starts(); len(s) != 1 || !strings.Contains(s[0].RawLXC, "lxc.hook.pre-start") {
		t.Errorf("opt-in start specs = %+v", s)
	}
}

// A newline in a device field or config value is refused where it is accepted.
func TestControlCharsRefusedByTheAPI(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	for _, body := range []map[string]any{
		{"devices": map[string]any{"d1": map[string]string{"type": "disk", "source": e.dir, "path": "/mnt/x\n" + hookLine}}},
		{"devices": map[string]any{"d1": map[string]string{"type": "unix-char", "source": "/dev/null", "path": "/dev/x\nlxc.cgroup.devices.allow = a"}}},
		{"devices": map[string]any{"d\n1": map[string]string{"type": "none"}}},
		{"config": map[string]string{"limits.memory": "1GiB\n" + hookLine}},
		{"config": map[string]string{"user.x\nlxc.hook.start": "1"}},
		{"config": map[string]string{"image.os": "debian\nx"}},
	} {
		e.refused("PATCH", "/1.0/instances/c1", body)
	}
	inst, _ := e.getInstance("c1")
	if len(inst.Devices) != 0 || inst.Config["limits.memory"] != "" {
		t.Errorf("refused changes stored: %v %v", inst.Devices, inst.Config)
	}
	e.fail("POST", "/1.0/profiles", map[string]any{"name": "p", "devices": map[string]any{"d": map[string]string{"type": "disk", "source": e.dir, "path": "/x\r"}}}, 400)
	e.fail("POST", "/1.0/profiles", map[string]any{"name": "p\n"}, 400)
}

// Names are unique without regard to case, in create, copy, import, rename and at the
// database: one check (instance.CheckNewName) refuses the request itself with 409 and the
// same message on every path, before any operation starts.
func TestInstanceNamesUniqueWithoutCase(t *testing.T) {
	e := newEnv(t)
	e.create("web", nil)
	for _, n := range []string{"WEB", "Web"} {
		msg := e.fail("POST", "/1.0/instances", map[string]any{"name": n, "source": map[string]any{"type": "image", "fingerprint": testFP}}, 409)
		if !strings.Contains(msg, `already exists as "web"`) {
			t.Errorf("create %s: %s", n, msg)
		}
	}
	e.create("db1", nil)
	if msg := e.fail("POST", "/1.0/instances/db1", map[string]any{"name": "WeB"}, 409); !strings.Contains(msg, `already exists as "web"`) {
		t.Errorf("rename to WeB: %s", msg)
	}
	msg := e.fail("POST", "/1.0/instances", map[string]any{"name": "WEB", "source": map[string]any{"type": "copy", "source": "db1"}}, 409)
	if !strings.Contains(msg, `already exists as "web"`) {
		t.Errorf("copy to WEB: %s", msg)
	}
	req, err := http.NewRequest("POST", "http://unix.socket/1.0/instances", strings.NewReader("not read"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-LXD-name", "wEb")
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var env api.Response
	err = json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 409 || !strings.Contains(env.Error, `already exists as "web"`) {
		t.Errorf("import as wEb: HTTP %d %q (%v)", resp.StatusCode, env.Error, err)
	}
	// An instance may change the case of its own name.
	e.succeed("POST", "/1.0/instances/db1", map[string]any{"name": "DB1"})
	if got := e.containers(); strings.Join(got, ",") != "DB1,web" {
		t.Errorf("containers = %v", got)
	}
}

// Publish, pull and build take the same alias rules as alias create (imagesvc.CheckAliasesFree),
// refused before any work: a bad name with 400, a taken one with 409.
func TestAliasRulesOnEveryPath(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	sources := []map[string]string{
		{"type": "instance", "name": "c1"},
		{"type": "image", "mode": "pull", "server": "https://images.invalid", "protocol": "simplestreams", "alias": "debian/12"},
		{"type": "build", "alias": "debian/12"},
	}
	for _, src := range sources {
		for _, bad := range []string{"../x", "/abs", "a//b", "x/.."} {
			e.fail("POST", "/1.0/images", map[string]any{"source": src, "aliases": []map[string]string{{"name": bad}}}, 400)
		}
		// debian/12 is the test image's alias.
		if msg := e.fail("POST", "/1.0/images", map[string]any{"source": src, "aliases": []map[string]string{{"name": "debian/12"}}}, 409); !strings.Contains(msg, `image alias "debian/12" already exists`) {
			t.Errorf("%s with a taken alias: %s", src["type"], msg)
		}
	}
}

// An image for an architecture the host cannot run makes no instance, and an instance whose
// image is one does not start, with LXD's message.
func TestForeignArchitectureRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	foreign := "s390x"
	if runtime.GOARCH == "s390x" {
		foreign = "x86_64"
	}
	fp := strings.Repeat("ab", 32)
	if err := e.db.CreateImage(ctx, db.Image{Fingerprint: fp, Filename: "f.tar.xz", Size: 1, Architecture: foreign, Type: "container",
		Properties: map[string]string{}, CreatedAt: time.Now(), UploadedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	msg := e.failOp("POST", "/1.0/instances", map[string]any{"name": "c1", "source": map[string]any{"type": "image", "fingerprint": fp}})
	if !strings.Contains(msg, "Requested architecture isn't supported by this host") {
		t.Errorf("create from a %s image: %s", foreign, msg)
	}
	if c := e.containers(); len(c) != 0 {
		t.Errorf("a refused create left %v", c)
	}
	e.create("c2", nil)
	if err := e.db.SetInstanceConfig(ctx, "c2", map[string]string{"volatile.base_image": fp}); err != nil {
		t.Fatal(err)
	}
	if msg := e.failOp("PUT", "/1.0/instances/c2/state", map[string]any{"action": "start"}); !strings.Contains(msg, "Requested architecture isn't supported by this host") {
		t.Errorf("start of an instance of a %s image: %s", foreign, msg)
	}
	if len(e.rt.Starts()) != 0 {
		t.Errorf("the runtime was asked to start %+v", e.rt.Starts())
	}
}
