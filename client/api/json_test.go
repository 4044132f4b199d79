package api

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// keys returns the top-level JSON keys v encodes to.
func keys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%T does not encode to an object: %v", v, err)
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string { sort.Strings(s); return s }

// The JSON names are LXD's, verbatim (LXD-API.md §7): its clients read them.
func TestJSONFieldNames(t *testing.T) {
	instance := []string{"architecture", "config", "devices", "ephemeral", "profiles", "stateful", "description",
		"name", "type", "status", "status_code", "created_at", "last_used_at", "expanded_config",
		"expanded_devices", "location", "project"}
	tests := []struct {
		v    any
		want []string
	}{
		{Instance{}, sorted(instance...)},
		{InstanceFull{}, sorted(append(instance, "state", "snapshots", "backups")...)},
		{InstancePut{}, sorted("architecture", "config", "devices", "ephemeral", "profiles", "stateful", "description")},
		{InstancesPost{}, sorted("architecture", "config", "devices", "ephemeral", "profiles", "stateful", "description", "name", "type", "source")},
		{InstanceStatePut{}, sorted("action", "timeout", "force", "stateful")},
		{InstanceState{}, sorted("status", "status_code", "pid", "processes", "cpu", "memory", "disk", "network")},
		{InstanceStateMemory{}, sorted("usage", "usage_peak", "swap_usage", "swap_usage_peak")},
		{InstanceStateNetwork{}, sorted("addresses", "counters", "hwaddr", "host_name", "mtu", "state", "type")},
		{InstanceStateNetworkCounters{}, sorted("bytes_received", "bytes_sent", "packets_received", "packets_sent",
			"errors_received", "errors_sent", "packets_dropped_outbound", "packets_dropped_inbound")},
		{InstanceExecPost{}, sorted("command", "wait-for-websocket", "interactive", "environment", "width", "height",
			"record-output", "user", "group", "cwd")},
		{Operation{}, sorted("id", "class", "description", "created_at", "updated_at", "status", "status_code",
			"resources", "metadata", "may_cancel", "err", "location")},
		{Event{}, sorted("type", "timestamp", "location", "project", "metadata")},
		{EventLifecycle{}, sorted("action", "source", "context")},
		{Image{}, sorted("auto_update", "properties", "public", "expires_at", "profiles", "aliases", "architecture",
			"cached", "filename", "fingerprint", "size", "type", "created_at", "last_used_at", "uploaded_at")},
		{ImageAliasesEntry{}, sorted("name", "description", "target", "type")},
		{Profile{}, sorted("config", "description", "devices", "name", "used_by")},
		{Server{}, sorted("config", "api_extensions", "api_status", "api_version", "auth", "public", "auth_methods", "environment")},
	}
	for _, tt := range tests {
		if got := keys(t, tt.v); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%T keys:\n got  %v\n want %v", tt.v, got, tt.want)
		}
	}
	env := keys(t, ServerEnvironment{})
	for _, k := range []string{"addresses", "architectures", "certificate", "driver", "driver_version", "kernel",
		"kernel_version", "kernel_features", "lxc_features", "server", "server_clustered", "server_name",
		"server_version", "storage", "project"} {
		if i := sort.SearchStrings(env, k); i == len(env) || env[i] != k {
			t.Errorf("environment has no %q", k)
		}
	}
}

// Absent and null profiles mean "the default profile", [] means "no profile": the distinction
// must survive decoding and encoding.
func TestInstancesPostProfiles(t *testing.T) {
	tests := []struct {
		body     string
		nilProfs bool
		n        int
	}{
		{`{"name":"c1","source":{"type":"image","fingerprint":"abc"}}`, true, 0},
		{`{"name":"c1","profiles":null}`, true, 0},
		{`{"name":"c1","profiles":[]}`, false, 0},
		{`{"name":"c1","profiles":["default","big"]}`, false, 2},
	}
	for _, tt := range tests {
		var p InstancesPost
		if err := json.Unmarshal([]byte(tt.body), &p); err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if (p.Profiles == nil) != tt.nilProfs || len(p.Profiles) != tt.n {
			t.Errorf("%s: profiles = %#v", tt.body, p.Profiles)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]json.RawMessage
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		want := "null"
		if !tt.nilProfs {
			want = "[]"
			if tt.n > 0 {
				want = `["default","big"]`
			}
		}
		if string(back["profiles"]) != want {
			t.Errorf("%s re-encoded profiles = %s, want %s", tt.body, back["profiles"], want)
		}
	}
}

// What LXD's Go client and pylxd send for a launch and an exec decodes, including nulls and
// fields lite does not know.
func TestDecodeClientBodies(t *testing.T) {
	launch := `{"name":"c1","type":"container","instance_type":"","architecture":"","config":{"limits.cpu":"2"},
	"devices":{},"ephemeral":false,"profiles":null,"stateful":false,"description":"",
	"source":{"type":"image","fingerprint":"abcdef","certificate":"","allow_inconsistent":false}}`
	var p InstancesPost
	if err := json.Unmarshal([]byte(launch), &p); err != nil {
		t.Fatal(err)
	}
	if p.Name != "c1" || p.Source.Type != "image" || p.Source.Fingerprint != "abcdef" || p.Config["limits.cpu"] != "2" || p.Profiles != nil {
		t.Errorf("launch decoded as %+v", p)
	}
	pylxdExec := `{"command":["ls","-l"],"wait-for-websocket":true,"interactive":false,
	"environment":{"TERM":"xterm"},"width":80,"height":24,"user":null,"group":null,"cwd":null}`
	var e InstanceExecPost
	if err := json.Unmarshal([]byte(pylxdExec), &e); err != nil {
		t.Fatalf("pylxd exec body: %v", err)
	}
	if !reflect.DeepEqual(e.Command, []string{"ls", "-l"}) || !e.WaitForWS || e.Interactive || e.Environment["TERM"] != "xterm" ||
		e.Width != 80 || e.Height != 24 || e.User != 0 || e.Cwd != "" {
		t.Errorf("exec decoded as %+v", e)
	}
	var c InstanceExecControl
	if err := json.Unmarshal([]byte(`{"command":"window-resize","args":{"width":"132","height":"43"}}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.Command != "window-resize" || c.Args["width"] != "132" || c.Args["height"] != "43" {
		t.Errorf("control decoded as %+v", c)
	}
	if err := json.Unmarshal([]byte(`{"command":"signal","signal":15}`), &c); err != nil || c.Signal != 15 {
		t.Errorf("signal control: %+v %v", c, err)
	}
	var st InstanceStatePut
	if err := json.Unmarshal([]byte(`{"action":"stop","timeout":30,"force":true}`), &st); err != nil ||
		st.Action != "stop" || st.Timeout != 30 || !st.Force {
		t.Errorf("state put: %+v %v", st, err)
	}
}

func TestInstanceRoundTrip(t *testing.T) {
	now := time.Date(2024, 2, 3, 4, 5, 6, 789, time.UTC)
	in := InstanceFull{
		Instance: Instance{
			InstancePut: InstancePut{
				Architecture: "x86_64", Config: map[string]string{"volatile.base_image": "abc", "user.x": "y"},
				Devices:  map[string]map[string]string{"data": {"type": "disk", "path": "/d"}},
				Profiles: []string{"default"}, Description: "d",
			},
			Name: "c1", Type: "container", Status: "Running", StatusCode: Running, CreatedAt: now, LastUsedAt: now,
			ExpandedConfig: map[string]string{"user.x": "y"}, ExpandedDevices: map[string]map[string]string{},
			Location: "none", Project: "default",
		},
		State: &InstanceState{Status: "Running", StatusCode: Running, Pid: 42,
			Disk: map[string]InstanceStateDisk{"root": {Usage: 10}}, Network: map[string]InstanceStateNetwork{}},
		Snapshots: []InstanceSnapshot{}, Backups: []any{},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out InstanceFull
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip changed the instance:\n in  %+v\n out %+v", in, out)
	}
	s := string(b)
	for _, frag := range []string{`"status_code":103`, `"expanded_devices":{}`, `"snapshots":[]`, `"network":{}`, `"created_at":"2024-02-03T04:05:06.000000789Z"`} {
		if !strings.Contains(s, frag) {
			t.Errorf("encoding lacks %s: %s", frag, s)
		}
	}
	// A PUT body is not a restore unless asked.
	if strings.Contains(s, `"restore"`) {
		t.Errorf("empty restore is encoded: %s", s)
	}
	b, _ = json.Marshal(InstancePut{Restore: "snap0"})
	if !strings.Contains(string(b), `"restore":"snap0"`) {
		t.Errorf("restore missing: %s", b)
	}
}

func TestOperationRoundTrip(t *testing.T) {
	now := time.Now().UTC()
	in := Operation{ID: "1234", Class: OperationClassWebsocket, Description: "Executing command", CreatedAt: now, UpdatedAt: now,
		Status: "Success", StatusCode: Success, Resources: map[string][]string{"instances": {"/1.0/instances/c1"}},
		Metadata: map[string]any{"return": float64(3), "fds": map[string]any{"0": "s0"}}, Err: "", Location: "none"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Operation
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n in  %+v\n out %+v", in, out)
	}
	if !strings.Contains(string(b), `"status_code":200`) || !strings.Contains(string(b), `"class":"websocket"`) {
		t.Errorf("encoding: %s", b)
	}
}

func TestResponseEnvelope(t *testing.T) {
	b, err := json.Marshal(Response{Type: ErrorResponse, Error: "not found", ErrorCode: 404, Metadata: json.RawMessage("null")})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["type"] != "error" || m["error"] != "not found" || m["error_code"] != float64(404) {
		t.Errorf("error envelope = %s", b)
	}
	if v, ok := m["metadata"]; !ok || v != nil {
		t.Errorf("error envelope metadata = %v (present %v), want null", v, ok)
	}
	var r Response
	body := `{"type":"async","status":"Operation created","status_code":100,"operation":"/1.0/operations/x","error_code":0,"error":"","metadata":{"id":"x"}}`
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if r.Type != AsyncResponse || r.StatusCode != 100 || r.Operation != "/1.0/operations/x" || string(r.Metadata) != `{"id":"x"}` {
		t.Errorf("decoded %+v", r)
	}
}

func TestStatusCodes(t *testing.T) {
	tests := []struct {
		c     StatusCode
		name  string
		value int
		final bool
	}{
		{OperationCreated, "Operation created", 100, false},
		{Started, "Started", 101, false},
		{Stopped, "Stopped", 102, false},
		{Running, "Running", 103, false},
		{Cancelling, "Cancelling", 104, false},
		{Pending, "Pending", 105, false},
		{Starting, "Starting", 106, false},
		{Stopping, "Stopping", 107, false},
		{Frozen, "Frozen", 110, false},
		{Error, "Error", 112, false},
		{Ready, "Ready", 113, false},
		{Success, "Success", 200, true},
		{Failure, "Failure", 400, true},
		{Cancelled, "Cancelled", 401, true},
	}
	for _, tt := range tests {
		if int(tt.c) != tt.value || tt.c.String() != tt.name || tt.c.IsFinal() != tt.final {
			t.Errorf("%d: value %d name %q final %v; want %d %q %v", tt.c, int(tt.c), tt.c.String(), tt.c.IsFinal(), tt.value, tt.name, tt.final)
		}
	}
}
