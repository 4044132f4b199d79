package server_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"lite/client/api"
)

func TestProfileCRUD(t *testing.T) {
	e := newEnv(t)
	var urls []string
	e.ok("GET", "/1.0/profiles", nil, &urls)
	if !reflect.DeepEqual(urls, []string{"/1.0/profiles/default"}) {
		t.Errorf("profiles = %v", urls)
	}
	r := e.do("POST", "/1.0/profiles", map[string]any{"name": "small", "config": map[string]string{"limits.memory": "256MiB"}, "description": "d"})
	if r.status != 201 || r.header.Get("Location") != "/1.0/profiles/small" {
		t.Fatalf("create: HTTP %d Location %q %s", r.status, r.header.Get("Location"), r.body)
	}
	e.fail("POST", "/1.0/profiles", map[string]any{"name": "small"}, 409)
	var p api.Profile
	e.ok("GET", "/1.0/profiles/small", nil, &p)
	if p.Name != "small" || p.Config["limits.memory"] != "256MiB" || p.Description != "d" || p.Devices == nil || p.UsedBy == nil {
		t.Errorf("GET = %+v", p)
	}
	// PUT replaces, PATCH merges.
	e.ok("PUT", "/1.0/profiles/small", map[string]any{"config": map[string]string{"limits.cpu": "1"}}, nil)
	e.ok("PATCH", "/1.0/profiles/small", map[string]any{"config": map[string]string{"user.a": "b"}}, nil)
	p = api.Profile{} // json.Unmarshal merges into a map it is given
	e.ok("GET", "/1.0/profiles/small", nil, &p)
	if want := map[string]string{"limits.cpu": "1", "user.a": "b"}; !reflect.DeepEqual(p.Config, want) {
		t.Errorf("after PUT+PATCH config = %v, want %v", p.Config, want)
	}
	// Rename, and default cannot be renamed or deleted.
	r = e.do("POST", "/1.0/profiles/small", map[string]any{"name": "tiny"})
	if r.status != 201 || r.header.Get("Location") != "/1.0/profiles/tiny" {
		t.Errorf("rename: HTTP %d %s", r.status, r.body)
	}
	e.fail("GET", "/1.0/profiles/small", nil, 404)
	e.fail("POST", "/1.0/profiles/default", map[string]any{"name": "x"}, 400)
	e.fail("DELETE", "/1.0/profiles/default", nil, 400)
	// In use: refused with a conflict naming the user.
	e.create("c1", map[string]any{"profiles": []string{"default", "tiny"}})
	e.ok("GET", "/1.0/profiles/tiny", nil, &p)
	if !reflect.DeepEqual(p.UsedBy, []string{"/1.0/instances/c1"}) {
		t.Errorf("used_by = %v", p.UsedBy)
	}
	if msg := e.fail("DELETE", "/1.0/profiles/tiny", nil, 409); !strings.Contains(msg, "c1") {
		t.Errorf("delete in use: %q does not name c1", msg)
	}
	e.succeed("DELETE", "/1.0/instances/c1", nil)
	e.ok("DELETE", "/1.0/profiles/tiny", nil, nil)
	e.fail("GET", "/1.0/profiles/tiny", nil, 404)
	e.fail("DELETE", "/1.0/profiles/tiny", nil, 404)
}

func TestProfileBadInputStoresNothing(t *testing.T) {
	e := newEnv(t)
	e.ok("POST", "/1.0/profiles", map[string]any{"name": "p1", "config": map[string]string{"limits.memory": "1GiB"}}, nil)
	bad := []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"config": map[string]string{"limits.memory": "lots"}}, "limits.memory"},
		{map[string]any{"config": map[string]string{"limits.cpu": "0"}}, "limits.cpu"},
		{map[string]any{"config": map[string]string{"limits.cpu": "0-7"}}, "does not exist"},
		{map[string]any{"config": map[string]string{"limits.processes": "-1"}}, "limits.processes"},
		{map[string]any{"config": map[string]string{"bogus.key": "1"}}, "bogus.key"},
		{map[string]any{"config": map[string]string{"volatile.x": "1"}}, "volatile.x"},
		{map[string]any{"config": map[string]string{"raw.lxc": "lxc.rootfs.path = dir:/"}}, "lxc.rootfs.path"},
		{map[string]any{"devices": map[string]any{"d": map[string]string{"type": "disk", "source": "/nonexistent/x", "path": "/x"}}}, "does not exist"},
		{map[string]any{"devices": map[string]any{"d": map[string]string{"type": "disk", "source": "/", "path": "/x"}}}, "root"},
		{map[string]any{"devices": map[string]any{"d": map[string]string{"type": "gpu"}}}, "gpu"},
	}
	for _, b := range bad {
		if msg := e.fail("PUT", "/1.0/profiles/p1", b.body, 400); !strings.Contains(msg, b.want) {
			t.Errorf("PUT %v: error %q does not mention %q", b.body, msg, b.want)
		}
		if msg := e.fail("POST", "/1.0/profiles", mergeName("p2", b.body), 400); !strings.Contains(msg, b.want) {
			t.Errorf("POST %v: error %q does not mention %q", b.body, msg, b.want)
		}
	}
	var p api.Profile
	e.ok("GET", "/1.0/profiles/p1", nil, &p)
	if !reflect.DeepEqual(p.Config, map[string]string{"limits.memory": "1GiB"}) || len(p.Devices) != 0 {
		t.Errorf("profile changed by refused requests: %+v", p)
	}
	e.fail("GET", "/1.0/profiles/p2", nil, 404)
	for _, n := range []string{"", "a/b", "a b", ".."} {
		e.fail("POST", "/1.0/profiles", map[string]any{"name": n}, 400)
	}
}

func mergeName(name string, body map[string]any) map[string]any {
	out := map[string]any{"name": name}
	for k, v := range body {
		out[k] = v
	}
	return out
}

// A profile change reaches a running container's cgroups at once; a stopped one gets it at
// its next start.
func TestProfileChangeAppliesLive(t *testing.T) {
	e := newEnv(t)
	e.ok("POST", "/1.0/profiles", map[string]any{"name": "lim", "config": map[string]string{"limits.memory": "512MiB", "limits.processes": "100"}}, nil)
	e.create("c1", map[string]any{"profiles": []string{"default", "lim"}})
	e.create("c2", map[string]any{"profiles": []string{"default", "lim"}})
	e.start("c1")
	cg := e.rt.Cgroups("c1")
	if cg["lxc.cgroup.memory.limit_in_bytes"] != "536870912" || cg["lxc.cgroup.pids.max"] != "100" {
		t.Fatalf("start cgroups = %v", cg)
	}
	e.ok("PATCH", "/1.0/profiles/lim", map[string]any{"config": map[string]string{"limits.memory": "1GiB", "limits.processes": "", "limits.cpu": "1"}}, nil)
	cg = e.rt.Cgroups("c1")
	// Unset in lim, limits.processes falls back to the default profile's.
	if cg["lxc.cgroup.memory.limit_in_bytes"] != "1073741824" || cg["lxc.cgroup.pids.max"] != "10000" || cg["lxc.cgroup.cpuset.cpus"] != "0" {
		t.Errorf("live cgroups after profile change = %v", cg)
	}
	for _, s := range e.rt.CgroupSets() {
		if strings.HasPrefix(s, "c2 ") {
			t.Errorf("stopped c2 got a live change: %s", s)
		}
	}
	// A live change the kernel refuses is undone, and nothing is stored.
	e.rt.FailCgroup("lxc.cgroup.pids.max")
	if msg := e.fail("PATCH", "/1.0/profiles/lim", map[string]any{"config": map[string]string{"limits.memory": "2GiB", "limits.processes": "50"}}, 400); !strings.Contains(msg, "pids.max") {
		t.Errorf("refused live change: %q", msg)
	}
	e.rt.FailCgroup("")
	if cg = e.rt.Cgroups("c1"); cg["lxc.cgroup.memory.limit_in_bytes"] != "1073741824" {
		t.Errorf("memory not restored after a failed change: %v", cg)
	}
	var p api.Profile
	e.ok("GET", "/1.0/profiles/lim", nil, &p)
	if p.Config["limits.memory"] != "1GiB" || p.Config["limits.processes"] != "" {
		t.Errorf("failed change was stored: %v", p.Config)
	}
	e.start("c2")
	if cg := e.rt.Cgroups("c2"); cg["lxc.cgroup.memory.limit_in_bytes"] != "1073741824" || cg["lxc.cgroup.cpuset.cpus"] != "0" {
		t.Errorf("c2 start cgroups = %v", cg)
	}
}

// Instance PUT and PATCH apply limits live and refuse bad devices with nothing stored.
func TestInstanceConfigLiveAndDevices(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	e.start("c1")
	e.succeed("PATCH", "/1.0/instances/c1", map[string]any{"config": map[string]string{"limits.cpu.allowance": "25ms/100ms", "limits.memory": "50%"}})
	cg := e.rt.Cgroups("c1")
	if cg["lxc.cgroup.cpu.cfs_quota_us"] != "25000" || cg["lxc.cgroup.memory.limit_in_bytes"] != "2147483648" {
		t.Errorf("cgroups after PATCH = %v", cg)
	}
	src := t.TempDir()
	e.succeed("PATCH", "/1.0/instances/c1", map[string]any{"devices": map[string]any{"data": map[string]string{"type": "disk", "source": src, "path": "/data", "readonly": "true"}}})
	inst, _ := e.getInstance("c1")
	if inst.Devices["data"]["source"] != src {
		t.Errorf("devices = %v", inst.Devices)
	}
	missing := filepath.Join(src, "nope")
	if msg := e.failOp("PATCH", "/1.0/instances/c1", map[string]any{"devices": map[string]any{"x": map[string]string{"type": "disk", "source": missing, "path": "/x"}}}); !strings.Contains(msg, "does not exist") {
		t.Errorf("missing source: %q", msg)
	}
	if msg := e.failOp("PATCH", "/1.0/instances/c1", map[string]any{"devices": map[string]any{"x": map[string]string{"type": "disk", "source": e.pool, "path": "/x"}}}); !strings.Contains(msg, "state") {
		t.Errorf("state dir source: %q", msg)
	}
	if msg := e.failOp("PATCH", "/1.0/instances/c1", map[string]any{"config": map[string]string{"limits.memory": "lots"}}); !strings.Contains(msg, "limits.memory") {
		t.Errorf("bad memory: %q", msg)
	}
	inst, _ = e.getInstance("c1")
	if _, ok := inst.Devices["x"]; ok || inst.Config["limits.memory"] != "50%" {
		t.Errorf("refused PATCH stored something: %v %v", inst.Config, inst.Devices)
	}
	if _, err := os.Stat(src); err != nil {
		t.Fatal(err)
	}
}

// Autostart starts boot.autostart instances (from their own config or a profile), highest
// priority first, and leaves the others stopped.
func TestAutostartOrder(t *testing.T) {
	e := newEnv(t)
	e.ok("POST", "/1.0/profiles", map[string]any{"name": "auto", "config": map[string]string{"boot.autostart": "true"}}, nil)
	e.create("low", map[string]any{"config": map[string]string{"boot.autostart": "true", "boot.autostart.priority": "1"}})
	e.create("high", map[string]any{"profiles": []string{"default", "auto"}, "config": map[string]string{"boot.autostart.priority": "5", "boot.stop.priority": "3"}})
	e.create("off", nil)
	e.create("disabled", map[string]any{"profiles": []string{"default", "auto"}, "config": map[string]string{"boot.autostart": "false"}})
	e.sched.Autostart(context.Background())
	var got []string
	for _, s := range e.rt.Starts() {
		got = append(got, s.Name)
	}
	if !reflect.DeepEqual(got, []string{"high", "low"}) {
		t.Errorf("autostart order = %v, want [high low]", got)
	}
	// A second pass starts nothing: they already run.
	e.sched.Autostart(context.Background())
	if n := len(e.rt.Starts()); n != 2 {
		t.Errorf("%d starts after a second pass, want 2", n)
	}
}
