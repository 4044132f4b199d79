package server_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"lite/client/api"
)

func TestServerRoot(t *testing.T) {
	e := newEnv(t)
	var root []string
	e.ok("GET", "/", nil, &root)
	if !reflect.DeepEqual(root, []string{"/1.0"}) {
		t.Errorf("GET / = %v", root)
	}
	var srv api.Server
	r := e.ok("GET", "/1.0", nil, &srv)
	if r.status != 200 || srv.Auth != "trusted" || !reflect.DeepEqual(srv.APIExtensions, e.info.APIExtensions) || srv.Environment.Server != "lite" {
		t.Errorf("GET /1.0 = %+v", srv)
	}
	var raw struct {
		Environment map[string]json.RawMessage `json:"environment"`
	}
	if err := json.Unmarshal(r.env.Metadata, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"kernel_features", "lxc_features", "addresses", "storage_supported_drivers"} {
		if string(raw.Environment[k]) == "null" {
			t.Errorf("environment.%s is null", k)
		}
	}
	// Unknown query parameters are ignored.
	e.ok("GET", "/1.0?project=default&target=&all-projects=true", nil, nil)
}

func TestUnknownRoutesAreJSON404(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/1.0/nope", "/2.0", "/1.0/instances/c1/nope", "/1.0/storage-pools"} {
		if msg := e.fail("GET", p, nil, 404); !strings.Contains(msg, p) {
			t.Errorf("GET %s: error %q does not name the path", p, msg)
		}
	}
	// A known path with a method it does not serve still gets a JSON error.
	r := e.do("PATCH", "/1.0/instances", "{}")
	if r.env.Type != api.ErrorResponse || (r.status != 404 && r.status != 405) {
		t.Errorf("PATCH /1.0/instances: HTTP %d %s", r.status, r.body)
	}
}

func TestCreateInstance(t *testing.T) {
	e := newEnv(t)
	before := time.Now().Add(-time.Second)
	op := e.async("POST", "/1.0/instances", map[string]any{
		"name": "c1", "type": "container", "profiles": nil, "config": map[string]string{"user.note": "hi"},
		"source": map[string]any{"type": "image", "fingerprint": testFP, "certificate": "", "allow_inconsistent": false},
	})
	// LXD's client refuses a create operation without the new instance in its resources.
	if got := op.Resources["instances"]; !reflect.DeepEqual(got, []string{"/1.0/instances/c1"}) {
		t.Errorf("operation resources = %v", op.Resources)
	}
	if op.Class != api.OperationClassTask {
		t.Errorf("class = %s", op.Class)
	}
	if final := e.wait(op); final.StatusCode != api.Success || final.Err != "" {
		t.Fatalf("create: %+v", final)
	}

	var inst api.Instance
	r := e.ok("GET", "/1.0/instances/c1", nil, &inst)
	if inst.Name != "c1" || inst.Type != "container" || inst.Status != "Stopped" || inst.StatusCode != api.Stopped ||
		inst.Architecture != "x86_64" || inst.Location != "none" || inst.Project != "default" {
		t.Errorf("instance = %+v", inst)
	}
	if !reflect.DeepEqual(inst.Profiles, []string{"default"}) {
		t.Errorf("profiles = %v, want [default] (null profiles means the default one)", inst.Profiles)
	}
	for k, want := range map[string]string{
		"user.note": "hi", "image.os": "debian", "image.release": "12",
		"volatile.base_image": testFP, "volatile.last_state.power": "STOPPED", "volatile.idmap.base": "100000",
	} {
		if inst.Config[k] != want {
			t.Errorf("config[%s] = %q, want %q", k, inst.Config[k], want)
		}
	}
	if inst.Config["volatile.uuid"] == "" {
		t.Error("no volatile.uuid")
	}
	if root := inst.ExpandedDevices["root"]; root["type"] != "disk" || root["path"] != "/" {
		t.Errorf("expanded_devices = %v, want the default profile's root disk", inst.ExpandedDevices)
	}
	if inst.ExpandedConfig["user.note"] != "hi" {
		t.Errorf("expanded_config = %v", inst.ExpandedConfig)
	}
	if inst.CreatedAt.Before(before) || inst.LastUsedAt.Unix() > 0 {
		t.Errorf("created_at %v last_used_at %v", inst.CreatedAt, inst.LastUsedAt)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.env.Metadata, &raw); err != nil {
		t.Fatal(err)
	}
	// Maps and lists the clients mutate are {} and [], never null.
	if string(raw["devices"]) != "{}" {
		t.Errorf("devices = %s, want {}", raw["devices"])
	}
	for _, k := range []string{"config", "expanded_config", "expanded_devices", "profiles"} {
		if string(raw[k]) == "null" {
			t.Errorf("%s is null", k)
		}
	}
	if _, ok := raw["state"]; ok {
		t.Error("recursion=0 instance carries state")
	}

	// The files exist and templates ran for the create trigger, with the default id map.
	if _, err := os.Stat(filepath.Join(e.pool, "c1", "rootfs")); err != nil {
		t.Errorf("container rootfs: %v", err)
	}
	renders := e.imgs.Renders()
	if len(renders) != 1 || renders[0].Trigger != "create" || renders[0].Instance != "c1" || renders[0].IDMap == nil || renders[0].IDMap.UID != 100000 {
		t.Errorf("renders = %+v", renders)
	}
}

func TestGetInstanceFull(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	full, raw := e.getInstance("c1")
	// lxc info dereferences state unconditionally, even for a stopped instance.
	if full.State == nil {
		t.Fatal("recursion=1 state is null")
	}
	if full.State.Status != "Stopped" || full.State.StatusCode != api.Stopped || full.State.Pid != 0 || full.State.Processes != 0 {
		t.Errorf("stopped state = %+v", full.State)
	}
	if _, ok := full.State.Disk["root"]; !ok {
		t.Errorf("state.disk = %v, want a root entry", full.State.Disk)
	}
	for _, k := range []string{"snapshots", "backups"} {
		if string(raw[k]) == "null" || raw[k] == nil {
			t.Errorf("%s = %s", k, raw[k])
		}
	}
	var st api.InstanceState
	e.ok("GET", "/1.0/instances/c1/state", nil, &st)
	if st.Status != "Stopped" {
		t.Errorf("GET state = %+v", st)
	}

	e.start("c1")
	full, _ = e.getInstance("c1")
	if full.Status != "Running" || full.StatusCode != api.Running || full.State.Pid != 4242 || full.State.Processes != 7 {
		t.Errorf("running instance = %s/%d state %+v", full.Status, full.StatusCode, full.State)
	}
	e.fail("GET", "/1.0/instances/ghost", nil, 404)
	e.fail("GET", "/1.0/instances/ghost/state", nil, 404)
}

func TestCreateByAliasAndGeneratedName(t *testing.T) {
	e := newEnv(t)
	e.succeed("POST", "/1.0/instances", map[string]any{"name": "c2", "source": map[string]any{"type": "image", "alias": "debian/12"}})
	var inst api.Instance
	e.ok("GET", "/1.0/instances/c2", nil, &inst)
	if inst.Config["volatile.base_image"] != testFP {
		t.Errorf("alias create: base image %q", inst.Config["volatile.base_image"])
	}

	// Without a name the server picks one and reports it in the final operation.
	final := e.succeed("POST", "/1.0/instances", map[string]any{"source": map[string]any{"type": "image", "fingerprint": testFP[:12]}})
	res := final.Resources["instances"]
	if len(res) != 1 || !strings.HasPrefix(res[0], "/1.0/instances/") || res[0] == "/1.0/instances/" {
		t.Fatalf("generated-name resources = %v", final.Resources)
	}
	e.ok("GET", res[0], nil, nil)
}

func TestCreateWithoutProfiles(t *testing.T) {
	e := newEnv(t)
	e.create("bare", map[string]any{"profiles": []string{}})
	var inst api.Instance
	r := e.ok("GET", "/1.0/instances/bare", nil, &inst)
	if inst.Profiles == nil || len(inst.Profiles) != 0 {
		t.Errorf("profiles = %#v, want [] ([] means no profile)", inst.Profiles)
	}
	if len(inst.ExpandedDevices) != 0 {
		t.Errorf("expanded_devices = %v, want none without profiles", inst.ExpandedDevices)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.env.Metadata, &raw); err != nil {
		t.Fatal(err)
	}
	if string(raw["profiles"]) != "[]" || string(raw["expanded_devices"]) != "{}" {
		t.Errorf("profiles %s expanded_devices %s", raw["profiles"], raw["expanded_devices"])
	}
}

func TestCreateRejectsBadRequests(t *testing.T) {
	e := newEnv(t)
	src := map[string]any{"type": "image", "fingerprint": testFP}
	e.fail("POST", "/1.0/instances", `{"name":`, 400)
	e.fail("POST", "/1.0/instances", `not json`, 400)
	e.fail("POST", "/1.0/instances", "", 400)
	for _, name := range []string{"bad_name", "-x", "x-", "1abc", "a.b", "caf\u00e9", strings.Repeat("a", 64)} {
		msg := e.fail("POST", "/1.0/instances", map[string]any{"name": name, "source": src}, 400)
		if !strings.Contains(msg, "name") {
			t.Errorf("bad name %q: error %q", name, msg)
		}
	}
	var list []string
	e.ok("GET", "/1.0/instances", nil, &list)
	if len(list) != 0 {
		t.Errorf("instances after refused creates: %v", list)
	}
	if c := e.containers(); len(c) != 0 {
		t.Errorf("container dirs after refused creates: %v", c)
	}
	if r := e.imgs.Resolves(); len(r) != 0 {
		t.Errorf("refused creates resolved images: %v", r)
	}
}

func TestCreateDuplicate(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	msg := e.fail("POST", "/1.0/instances", map[string]any{"name": "c1", "source": map[string]any{"type": "image", "fingerprint": testFP}}, 409)
	if !strings.Contains(msg, "c1") || strings.HasSuffix(msg, ": already exists") {
		t.Errorf("duplicate error %q", msg)
	}
	var list []string
	e.ok("GET", "/1.0/instances", nil, &list)
	if len(list) != 1 {
		t.Errorf("instances = %v", list)
	}
}

// Failures found while the operation runs fail the operation and leave nothing behind.
func TestCreateFailuresLeaveNothing(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		body map[string]any
		want string
	}{
		{"unknown image", map[string]any{"name": "c1", "source": map[string]any{"type": "image", "fingerprint": "ffff"}}, "ffff"},
		{"unknown alias", map[string]any{"name": "c1", "source": map[string]any{"type": "image", "alias": "debian/99"}}, "debian/99"},
		{"no image", map[string]any{"name": "c1", "source": map[string]any{"type": "image"}}, "image"},
		{"unknown profile", map[string]any{"name": "c1", "profiles": []string{"default", "nope"}, "source": map[string]any{"type": "image", "fingerprint": testFP}}, "nope"},
		{"bad config value", map[string]any{"name": "c1", "config": map[string]string{"limits.memory": "lots"}, "source": map[string]any{"type": "image", "fingerprint": testFP}}, "limits.memory"},
		{"unknown config key", map[string]any{"name": "c1", "config": map[string]string{"limits.cpus": "2"}, "source": map[string]any{"type": "image", "fingerprint": testFP}}, "limits.cpus"},
		{"volatile key", map[string]any{"name": "c1", "config": map[string]string{"volatile.uuid": "x"}, "source": map[string]any{"type": "image", "fingerprint": testFP}}, "volatile.uuid"},
		{"bad device", map[string]any{"name": "c1", "devices": map[string]any{"d": map[string]string{"type": "gpu"}}, "source": map[string]any{"type": "image", "fingerprint": testFP}}, "gpu"},
		{"virtual machine", map[string]any{"name": "c1", "type": "virtual-machine", "source": map[string]any{"type": "image", "fingerprint": testFP}}, "virtual-machine"},
		{"empty source", map[string]any{"name": "c1", "source": map[string]any{"type": "none"}}, "none"},
	}
	for _, tt := range tests {
		msg := e.failOp("POST", "/1.0/instances", tt.body)
		if !strings.Contains(msg, tt.want) {
			t.Errorf("%s: error %q does not mention %q", tt.name, msg, tt.want)
		}
		e.fail("GET", "/1.0/instances/c1", nil, 404)
		if c := e.containers(); len(c) != 0 {
			t.Errorf("%s: container dirs left: %v", tt.name, c)
		}
	}
}

func TestListInstances(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"c3", "c1", "c2"} {
		e.create(n, map[string]any{"description": "box " + n})
	}
	e.start("c2")
	urls := func(q string) []string {
		t.Helper()
		var out []string
		e.ok("GET", "/1.0/instances"+q, nil, &out)
		return out
	}
	all := []string{"/1.0/instances/c1", "/1.0/instances/c2", "/1.0/instances/c3"}
	for _, query := range []string{"", "?recursion=0", "?filter=", "?filter=&recursion=0&project=default"} {
		if got := urls(query); !reflect.DeepEqual(got, all) {
			t.Errorf("list%s = %v", query, got)
		}
	}

	var one []map[string]json.RawMessage
	e.ok("GET", "/1.0/instances?recursion=1", nil, &one)
	if len(one) != 3 {
		t.Fatalf("recursion=1 = %d entries", len(one))
	}
	for _, i := range one {
		if _, ok := i["state"]; ok {
			t.Error("recursion=1 list entries carry state")
		}
		if string(i["config"]) == "null" || string(i["devices"]) != "{}" {
			t.Errorf("recursion=1 entry config %s devices %s", i["config"], i["devices"])
		}
	}

	var two []api.InstanceFull
	e.ok("GET", "/1.0/instances?recursion=2", nil, &two)
	if len(two) != 3 {
		t.Fatalf("recursion=2 = %d entries", len(two))
	}
	for _, i := range two {
		if i.State == nil {
			t.Fatalf("recursion=2 %s has no state", i.Name)
		}
		wantRunning := i.Name == "c2"
		if (i.State.StatusCode == api.Running) != wantRunning || (i.StatusCode == api.Running) != wantRunning {
			t.Errorf("%s: status %s state %s", i.Name, i.Status, i.State.Status)
		}
	}

	filters := []struct {
		filter string
		want   []string
	}{
		{"status eq Running", []string{"c2"}},
		{"status eq running", []string{"c2"}},
		{"status ne Running", []string{"c1", "c3"}},
		{"name eq c3", []string{"c3"}},
		{"status eq Stopped and name ne c1", []string{"c3"}},
		{"status eq Running and name eq c1", nil},
		{"config.image.os eq debian", []string{"c1", "c2", "c3"}},
		{"expanded_config.user.none eq x", nil},
	}
	for _, f := range filters {
		var want []string
		for _, n := range f.want {
			want = append(want, "/1.0/instances/"+n)
		}
		for _, rec := range []string{"0", "1", "2"} {
			var got []string
			if rec == "0" {
				got = urls("?recursion=0&filter=" + q(f.filter))
			} else {
				var objs []api.Instance
				e.ok("GET", "/1.0/instances?recursion="+rec+"&filter="+q(f.filter), nil, &objs)
				for _, o := range objs {
					got = append(got, "/1.0/instances/"+o.Name)
				}
			}
			if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
				t.Errorf("filter %q recursion %s = %v, want %v", f.filter, rec, got, want)
			}
		}
	}
	e.fail("GET", "/1.0/instances?filter="+q("status Running"), nil, 400)
	e.fail("GET", "/1.0/instances?filter="+q("status gt 1"), nil, 400)
}

func TestEmptyListsAreArrays(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/1.0/instances", "/1.0/instances?recursion=1", "/1.0/instances?recursion=2"} {
		r := e.ok("GET", p, nil, nil)
		if string(r.env.Metadata) != "[]" {
			t.Errorf("GET %s metadata = %s, want []", p, r.env.Metadata)
		}
	}
}

func TestStartStop(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	op := e.async("PUT", "/1.0/instances/c1/state", map[string]any{"action": "start", "timeout": -1, "force": false, "stateful": false})
	if !reflect.DeepEqual(op.Resources["instances"], []string{"/1.0/instances/c1"}) {
		t.Errorf("start resources = %v", op.Resources)
	}
	if final := e.wait(op); final.StatusCode != api.Success {
		t.Fatalf("start: %+v", final)
	}
	if !e.rt.Running("c1") {
		t.Fatal("runtime not started")
	}
	starts := e.rt.Starts()
	if len(starts) != 1 {
		t.Fatalf("starts = %+v", starts)
	}
	s := starts[0]
	if s.Name != "c1" || s.Hostname != "c1" || s.Rootfs != "dir:"+filepath.Join(e.pool, "c1", "rootfs") ||
		s.Dir != filepath.Join(e.pool, "c1") || s.IDMap == nil || s.IDMap.UID != 100000 || s.LogFile != filepath.Join(e.pool, "c1", "lxc.log") {
		t.Errorf("run spec = %+v", s)
	}
	inst, _ := e.getInstance("c1")
	if inst.StatusCode != api.Running || inst.Config["volatile.last_state.power"] != "RUNNING" || inst.LastUsedAt.Unix() <= 0 {
		t.Errorf("after start: %s power %q last used %v", inst.Status, inst.Config["volatile.last_state.power"], inst.LastUsedAt)
	}

	// LXD: starting a running instance is a failed operation, not a refused request.
	if msg := e.failOp("PUT", "/1.0/instances/c1/state", map[string]any{"action": "start"}); !strings.Contains(msg, "already running") {
		t.Errorf("second start error %q", msg)
	}
	if len(e.rt.Starts()) != 1 {
		t.Error("second start reached the runtime")
	}

	e.succeed("PUT", "/1.0/instances/c1/state", map[string]any{"action": "restart", "timeout": 0})
	if !e.rt.Running("c1") || len(e.rt.Starts()) != 2 {
		t.Errorf("restart: running %v, starts %d", e.rt.Running("c1"), len(e.rt.Starts()))
	}

	// No timeout in the body means a clean stop with no limit.
	e.succeed("PUT", "/1.0/instances/c1/state", map[string]any{"action": "stop"})
	stops := e.rt.Stops()
	if last := stops[len(stops)-1]; last.Opts.Force || last.Opts.Timeout >= 0 {
		t.Errorf("stop options = %+v, want a clean stop without limit", last.Opts)
	}
	inst, _ = e.getInstance("c1")
	if inst.StatusCode != api.Stopped || inst.Config["volatile.last_state.power"] != "STOPPED" {
		t.Errorf("after stop: %s power %q", inst.Status, inst.Config["volatile.last_state.power"])
	}
	if msg := e.failOp("PUT", "/1.0/instances/c1/state", map[string]any{"action": "stop", "force": true}); !strings.Contains(msg, "already stopped") {
		t.Errorf("second stop error %q", msg)
	}

	e.start("c1")
	e.succeed("PUT", "/1.0/instances/c1/state", map[string]any{"action": "stop", "timeout": 30, "force": true})
	stops = e.rt.Stops()
	if last := stops[len(stops)-1]; !last.Opts.Force || last.Opts.Timeout != 30*time.Second {
		t.Errorf("forced stop options = %+v", last.Opts)
	}

	e.fail("PUT", "/1.0/instances/c1/state", map[string]any{"action": "explode"}, 400)
	e.fail("PUT", "/1.0/instances/c1/state", `{"action":`, 400)
	e.fail("PUT", "/1.0/instances/ghost/state", map[string]any{"action": "start"}, 404)
}

func TestStartFailureReported(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	e.rt.SetStartErr(errTest("lxc-start: no cgroup"))
	if msg := e.failOp("PUT", "/1.0/instances/c1/state", map[string]any{"action": "start"}); !strings.Contains(msg, "no cgroup") {
		t.Errorf("start failure %q", msg)
	}
	inst, _ := e.getInstance("c1")
	if inst.StatusCode != api.Stopped || inst.Config["volatile.last_state.power"] != "STOPPED" {
		t.Errorf("after a failed start: %s power %q", inst.Status, inst.Config["volatile.last_state.power"])
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }

func TestDeleteInstance(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	e.start("c1")
	if msg := e.fail("DELETE", "/1.0/instances/c1", nil, 400); !strings.Contains(msg, "running") {
		t.Errorf("delete running: %q", msg)
	}
	if !e.rt.Running("c1") {
		t.Error("refused delete stopped the instance")
	}
	e.ok("GET", "/1.0/instances/c1", nil, nil)

	e.succeed("PUT", "/1.0/instances/c1/state", map[string]any{"action": "stop", "force": true})
	op := e.async("DELETE", "/1.0/instances/c1", nil)
	if !reflect.DeepEqual(op.Resources["instances"], []string{"/1.0/instances/c1"}) {
		t.Errorf("delete resources = %v", op.Resources)
	}
	if final := e.wait(op); final.StatusCode != api.Success {
		t.Fatalf("delete: %+v", final)
	}
	e.fail("GET", "/1.0/instances/c1", nil, 404)
	if c := e.containers(); len(c) != 0 {
		t.Errorf("container dirs after delete: %v", c)
	}
	e.fail("DELETE", "/1.0/instances/c1", nil, 404)
	// The name is free again.
	e.create("c1", nil)
}

func TestUpdateInstance(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	var inst api.Instance
	e.ok("GET", "/1.0/instances/c1", nil, &inst)

	// LXD's clients PUT back everything they got, volatile and image keys included.
	put := inst.InstancePut
	put.Config["user.note"] = "x"
	put.Config["limits.cpu"] = "2"
	put.Description = "changed"
	put.Devices = map[string]map[string]string{"data": {"type": "disk", "path": "/data", "source": "/srv"}}
	e.succeed("PUT", "/1.0/instances/c1", put)
	var got api.Instance
	e.ok("GET", "/1.0/instances/c1", nil, &got)
	if got.Config["user.note"] != "x" || got.Description != "changed" || got.Devices["data"]["source"] != "/srv" ||
		got.ExpandedConfig["limits.cpu"] != "2" || got.ExpandedDevices["root"] == nil {
		t.Errorf("after PUT: %+v", got)
	}
	for k, v := range inst.Config {
		if strings.HasPrefix(k, "volatile.") && got.Config[k] != v {
			t.Errorf("%s changed from %q to %q", k, v, got.Config[k])
		}
	}

	bad := got.InstancePut
	bad.Config = map[string]string{}
	for k, v := range got.Config {
		bad.Config[k] = v
	}
	bad.Config["volatile.base_image"] = "evil"
	if msg := e.failOp("PUT", "/1.0/instances/c1", bad); !strings.Contains(msg, "volatile.base_image") {
		t.Errorf("changed volatile key: %q", msg)
	}
	bad.Config["volatile.base_image"] = testFP
	bad.Config["limits.memory"] = "lots"
	if msg := e.failOp("PUT", "/1.0/instances/c1", bad); !strings.Contains(msg, "limits.memory") {
		t.Errorf("bad value: %q", msg)
	}
	delete(bad.Config, "limits.memory")
	bad.Profiles = []string{"nope"}
	if msg := e.failOp("PUT", "/1.0/instances/c1", bad); !strings.Contains(msg, "nope") {
		t.Errorf("unknown profile: %q", msg)
	}
	var after api.Instance
	e.ok("GET", "/1.0/instances/c1", nil, &after)
	if !reflect.DeepEqual(after.Config, got.Config) || !reflect.DeepEqual(after.Profiles, got.Profiles) {
		t.Errorf("failed PUTs changed the instance: %v %v", after.Config, after.Profiles)
	}
	e.fail("PUT", "/1.0/instances/ghost", put, 404)
	e.fail("PUT", "/1.0/instances/c1", `{"config":`, 400)
}

func TestImagesAndProfilesEndpoints(t *testing.T) {
	e := newEnv(t)
	var urls []string
	e.ok("GET", "/1.0/images", nil, &urls)
	if !reflect.DeepEqual(urls, []string{"/1.0/images/" + testFP}) {
		t.Errorf("images = %v", urls)
	}
	var img api.Image
	r := e.ok("GET", "/1.0/images/"+testFP[:12], nil, &img)
	if img.Fingerprint != testFP || img.Properties["os"] != "debian" || len(img.Aliases) != 1 || img.Aliases[0].Name != "debian/12" {
		t.Errorf("image = %+v", img)
	}
	if !strings.Contains(string(r.env.Metadata), `"profiles":["default"]`) {
		t.Errorf("image profiles: %s", r.env.Metadata)
	}
	e.fail("GET", "/1.0/images/ffff", nil, 404)

	// Alias names with a slash travel percent-encoded in one path segment.
	var alias api.ImageAliasesEntry
	e.ok("GET", "/1.0/images/aliases/debian%2F12", nil, &alias)
	if alias.Name != "debian/12" || alias.Target != testFP {
		t.Errorf("alias = %+v", alias)
	}
	e.fail("GET", "/1.0/images/aliases/debian%2F99", nil, 404)
	var aliases []string
	e.ok("GET", "/1.0/images/aliases", nil, &aliases)
	if len(aliases) != 1 {
		t.Errorf("aliases = %v", aliases)
	}

	var prof api.Profile
	r = e.ok("GET", "/1.0/profiles/default", nil, &prof)
	if prof.Name != "default" || prof.Devices["root"]["path"] != "/" || !strings.Contains(string(r.env.Metadata), `"used_by":[]`) ||
		!strings.Contains(string(r.env.Metadata), `"config":{"limits.processes":"10000"}`) {
		t.Errorf("default profile = %s", r.env.Metadata)
	}
	e.create("c1", nil)
	e.ok("GET", "/1.0/profiles/default", nil, &prof)
	if !reflect.DeepEqual(prof.UsedBy, []string{"/1.0/instances/c1"}) {
		t.Errorf("used_by = %v", prof.UsedBy)
	}
	e.ok("GET", "/1.0/profiles", nil, &urls)
	if !reflect.DeepEqual(urls, []string{"/1.0/profiles/default"}) {
		t.Errorf("profiles = %v", urls)
	}
	e.fail("GET", "/1.0/profiles/nope", nil, 404)
}

// A failure after the files were made undoes them: a create is all or nothing.
func TestCreateRevertsOnTemplateFailure(t *testing.T) {
	e := newEnv(t)
	e.imgs.SetRenderErr(errTest("template hostname: boom"))
	if msg := e.failOp("POST", "/1.0/instances", map[string]any{"name": "c1", "source": map[string]any{"type": "image", "fingerprint": testFP}}); !strings.Contains(msg, "boom") {
		t.Errorf("error %q", msg)
	}
	if len(e.imgs.Renders()) != 1 {
		t.Fatalf("renders = %v: the failure was not reached", e.imgs.Renders())
	}
	e.fail("GET", "/1.0/instances/c1", nil, 404)
	if c := e.containers(); len(c) != 0 {
		t.Errorf("container dirs left after a failed create: %v", c)
	}
	e.imgs.SetRenderErr(nil)
	e.create("c1", nil)
}

// Lifecycle changes of one instance are serialised: of concurrent starts exactly one reaches
// the runtime, the others fail with "already running".
func TestConcurrentStarts(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	e.rt.SetStartDelay(100 * time.Millisecond)
	const n = 5
	ops := make([]api.Operation, n)
	for i := range ops {
		ops[i] = e.async("PUT", "/1.0/instances/c1/state", map[string]any{"action": "start"})
	}
	succeeded := 0
	for _, op := range ops {
		final := e.wait(op)
		switch {
		case final.StatusCode == api.Success:
			succeeded++
		case !strings.Contains(final.Err, "already running"):
			t.Errorf("concurrent start failed with %q", final.Err)
		}
	}
	if succeeded != 1 {
		t.Errorf("%d of %d concurrent starts succeeded, want 1", succeeded, n)
	}
	if got := len(e.rt.Starts()); got != 1 {
		t.Errorf("the runtime was asked to start c1 %d times, want 1", got)
	}
}

// Concurrent creates of one name make one instance.
func TestConcurrentCreates(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"name": "c1", "source": map[string]any{"type": "image", "fingerprint": testFP}}
	const n = 5
	results := make(chan string, n)
	for i := 0; i < n; i++ {
		go func() {
			_, r, err := e.try("POST", "/1.0/instances", body)
			if err != nil {
				results <- err.Error()
				return
			}
			if r.Type == api.ErrorResponse {
				results <- "refused"
				return
			}
			var op api.Operation
			if err := json.Unmarshal(r.Metadata, &op); err != nil {
				results <- err.Error()
				return
			}
			_, w, err := e.try("GET", "/1.0/operations/"+op.ID+"/wait?timeout=30", nil)
			if err != nil {
				results <- err.Error()
				return
			}
			var final api.Operation
			if err := json.Unmarshal(w.Metadata, &final); err != nil {
				results <- err.Error()
				return
			}
			results <- final.Status
		}()
	}
	count := map[string]int{}
	for i := 0; i < n; i++ {
		count[<-results]++
	}
	if count["Success"] != 1 || count["Success"]+count["Failure"]+count["refused"] != n {
		t.Errorf("outcomes = %v, want exactly one Success and the rest refused or failed", count)
	}
	if c := e.containers(); len(c) != 1 {
		t.Errorf("container dirs = %v", c)
	}
	var list []string
	e.ok("GET", "/1.0/instances", nil, &list)
	if len(list) != 1 {
		t.Errorf("instances = %v", list)
	}
}
