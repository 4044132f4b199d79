package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"lite/client/api"
)

// TestProfileCommands drives lite profile through its command line against the fake daemon.
func TestProfileCommands(t *testing.T) {
	d := newDaemon(t)
	f, buf := factory(t, d, "", nil)
	cmd := NewCmdProfile(f)
	out, err := run(cmd, buf, "list")
	if err != nil || !strings.Contains(out, "| default | Default     | 1       |") {
		t.Errorf("list: %v\n%s", err, out)
	}
	if out, err = run(cmd, buf, "create", "p1", "--description", "first"); err != nil || out != "Profile p1 created\n" || d.profile("p1").Description != "first" {
		t.Errorf("create: %q %v %+v", out, err, d.profile("p1"))
	}
	if _, err = run(cmd, buf, "set", "p1", "limits.memory=1GiB", "user.a=b"); err != nil {
		t.Fatal(err)
	}
	if _, err = run(cmd, buf, "set", "p1", "limits.cpu", "2"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"limits.memory": "1GiB", "user.a": "b", "limits.cpu": "2"}
	if got := d.profile("p1").Config; !reflect.DeepEqual(got, want) {
		t.Errorf("config after set = %v", got)
	}
	if out, _ = run(cmd, buf, "get", "p1", "limits.cpu"); out != "2\n" {
		t.Errorf("get = %q", out)
	}
	if _, err = run(cmd, buf, "unset", "p1", "user.a"); err != nil {
		t.Fatal(err)
	}
	if _, err = run(cmd, buf, "unset", "p1", "user.a"); err == nil || !strings.Contains(err.Error(), "not set") {
		t.Errorf("unset of a missing key: %v", err)
	}
	if _, err = run(cmd, buf, "set", "p1", "novalue"); err == nil {
		t.Error("set without a value accepted")
	}
	if out, err = run(cmd, buf, "copy", "p1", "p3"); err != nil || out != "" || !reflect.DeepEqual(d.profile("p3").Config, d.profile("p1").Config) {
		t.Errorf("copy: %q %v %+v", out, err, d.profile("p3"))
	}
	if out, err = run(cmd, buf, "show", "p3"); err != nil || !strings.Contains(out, "limits.cpu: \"2\"") {
		t.Errorf("show: %v\n%s", err, out)
	}
	checkProfileDevices(t, d, cmd, buf)
	// edit from stdin (not a terminal) replaces the writable part.
	f.IO.In = strings.NewReader("description: new\nconfig:\n  limits.cpu: 1\n")
	if _, err = run(cmd, buf, "edit", "p1"); err != nil {
		t.Fatal(err)
	}
	if p := d.profile("p1"); p.Description != "new" || !reflect.DeepEqual(p.Config, map[string]string{"limits.cpu": "1"}) || len(p.Devices) != 0 {
		t.Errorf("after edit: %+v", p)
	}
	f.IO.In = strings.NewReader("config: [not, a, map]\n")
	if _, err = run(cmd, buf, "edit", "p1"); err == nil || !strings.Contains(err.Error(), "YAML") {
		t.Errorf("edit with bad YAML: %v", err)
	}
	if out, _ = run(cmd, buf, "rename", "p1", "p2"); out != "Profile p1 renamed to p2\n" || d.profile("p2").Name != "p2" {
		t.Errorf("rename: %q", out)
	}
	if out, _ = run(cmd, buf, "delete", "p2", "p3"); out != "Profile p2 deleted\nProfile p3 deleted\n" || d.profile("p3").Name != "" {
		t.Errorf("delete: %q", out)
	}
	if _, err = run(cmd, buf, "show", "nope"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("show of a missing profile: %v, want ErrNotFound", err)
	}
}

// checkProfileDevices drives lite profile device on profile p1.
func checkProfileDevices(t *testing.T, d *daemon, c *cobra.Command, buf *strings.Builder) {
	t.Helper()
	out, err := run(c, buf, "device", "add", "p1", "data", "disk", "source=/srv", "path=/data")
	if err != nil || out != "Device data added to p1\n" {
		t.Errorf("device add: %q %v", out, err)
	}
	if _, err = run(c, buf, "device", "add", "p1", "data", "disk"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("adding a device twice: %v", err)
	}
	if _, err = run(c, buf, "device", "add", "p1", "x", "disk", "novalue"); err == nil || d.profile("p1").Devices["x"] != nil {
		t.Errorf("device add with a bad key: %v", err)
	}
	if _, err = run(c, buf, "device", "set", "p1", "data", "readonly=true"); err != nil {
		t.Fatal(err)
	}
	wantDev := map[string]string{"type": "disk", "source": "/srv", "path": "/data", "readonly": "true"}
	if got := d.profile("p1").Devices["data"]; !reflect.DeepEqual(got, wantDev) {
		t.Errorf("device = %v", got)
	}
	if out, _ = run(c, buf, "device", "get", "p1", "data", "path"); out != "/data\n" {
		t.Errorf("device get = %q", out)
	}
	if _, err = run(c, buf, "device", "unset", "p1", "data", "readonly"); err != nil || d.profile("p1").Devices["data"]["readonly"] != "" {
		t.Errorf("device unset: %v %v", err, d.profile("p1").Devices["data"])
	}
	if out, _ = run(c, buf, "device", "list", "p1"); out != "data\n" {
		t.Errorf("device list = %q", out)
	}
	if out, _ = run(c, buf, "device", "show", "p1"); !strings.Contains(out, "source: /srv") {
		t.Errorf("device show = %q", out)
	}
	if out, err = run(c, buf, "device", "remove", "p1", "data"); err != nil || out != "Device data removed from p1\n" {
		t.Errorf("device remove: %q %v", out, err)
	}
	if _, err = run(c, buf, "device", "remove", "p1", "data"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("removing a missing device: %v", err)
	}
}

// TestProfilesOfInstance: add, remove and assign change an instance's profiles and wait for
// its update operation; refusals send no update.
func TestProfilesOfInstance(t *testing.T) {
	d := newDaemon(t)
	f, buf := factory(t, d, "", nil)
	cmd := NewCmdProfile(f)
	if out, err := run(cmd, buf, "add", "c1", "big"); err != nil || out != "Profile big added to c1\n" ||
		!reflect.DeepEqual(d.instance("c1").Profiles, []string{"default", "big"}) {
		t.Errorf("add: %q %v %v", out, err, d.instance("c1").Profiles)
	}
	if _, err := run(cmd, buf, "add", "c1", "big"); err == nil || !strings.Contains(err.Error(), "already applied") {
		t.Errorf("adding a profile twice: %v", err)
	}
	if out, err := run(cmd, buf, "remove", "c1", "default"); err != nil || out != "Profile default removed from c1\n" ||
		!reflect.DeepEqual(d.instance("c1").Profiles, []string{"big"}) {
		t.Errorf("remove: %q %v %v", out, err, d.instance("c1").Profiles)
	}
	if _, err := run(cmd, buf, "remove", "c1", "default"); err == nil || !strings.Contains(err.Error(), "isn't currently applied") {
		t.Errorf("removing a profile not applied: %v", err)
	}
	if out, err := run(cmd, buf, "assign", "c1", "a,b"); err != nil || out != "Profiles a,b applied to c1\n" ||
		!reflect.DeepEqual(d.instance("c1").Profiles, []string{"a", "b"}) {
		t.Errorf("assign: %q %v %v", out, err, d.instance("c1").Profiles)
	}
	if out, err := run(cmd, buf, "apply", "c1", ""); err != nil || out != "Profiles removed from c1\n" || len(d.instance("c1").Profiles) != 0 {
		t.Errorf("assign none: %q %v %v", out, err, d.instance("c1").Profiles)
	}
	if n := strings.Count(d.CallLog(), "PUT /1.0/instances/c1"); n != 4 {
		t.Errorf("%d instance updates, want 4 (refusals send none):\n%s", n, d.CallLog())
	}
	// A failed update is the command's error.
	d.updateOp = api.Operation{StatusCode: api.Failure, Err: `Profile "nope" doesn't exist`}
	if _, err := run(cmd, buf, "add", "c1", "nope"); err == nil || err.Error() != `Profile "nope" doesn't exist` {
		t.Errorf("add of a missing profile: %v, want the operation's error", err)
	}
}

// TestProfileRemotes: every profile command takes REMOTE: on its first argument and then
// works on that server only; names of several servers in one delete are refused.
func TestProfileRemotes(t *testing.T) {
	local, host2 := newDaemon(t), newDaemon(t)
	f, buf := factory(t, local, "", map[string]*daemon{"host2": host2})
	cmd := NewCmdProfile(f)
	steps := [][]string{
		{"create", "host2:rp"}, {"set", "host2:rp", "user.where=host2"}, {"copy", "host2:rp", "rp2"},
		{"device", "add", "host2:rp", "data", "disk", "source=/srv", "path=/data"},
		{"add", "host2:c1", "rp"}, {"rename", "host2:rp2", "rp3"}, {"delete", "host2:rp3"},
	}
	for _, args := range steps {
		if _, err := run(cmd, buf, args...); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
	}
	if local.CallLog() != "" {
		t.Errorf("the default daemon got requests: %q", local.CallLog())
	}
	if p := host2.profile("rp"); p.Config["user.where"] != "host2" || p.Devices["data"]["path"] != "/data" {
		t.Errorf("host2's profile: %+v", p)
	}
	if !reflect.DeepEqual(host2.instance("c1").Profiles, []string{"default", "rp"}) || host2.profile("rp3").Name != "" {
		t.Errorf("host2: c1's profiles %v, rp3 %+v", host2.instance("c1").Profiles, host2.profile("rp3"))
	}
	if out, err := run(cmd, buf, "get", "host2:rp", "user.where"); err != nil || out != "host2\n" {
		t.Errorf("get host2:rp: %q %v", out, err)
	}
	if out, err := run(cmd, buf, "list", "host2:"); err != nil || !strings.Contains(out, "| rp ") {
		t.Errorf("list host2: %q %v", out, err)
	}
	if out, err := run(cmd, buf, "list"); err != nil || strings.Contains(out, "| rp ") {
		t.Errorf("list of the default daemon shows host2's profile: %q %v", out, err)
	}
	before, localBefore := host2.CallLog(), local.CallLog()
	for _, args := range [][]string{{"list", "host2:rp"}, {"list", "nope:"}, {"delete", "host2:rp", "default"}, {"delete", "rp", "host2:default"}} {
		if _, err := run(cmd, buf, args...); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", args, err)
		}
	}
	if host2.CallLog() != before || local.CallLog() != localBefore {
		t.Errorf("refused commands sent requests: host2 %q, local %q", strings.TrimPrefix(host2.CallLog(), before), strings.TrimPrefix(local.CallLog(), localBefore))
	}
	if _, err := run(cmd, buf, "delete", "host2:rp", "host2:default"); err != nil || host2.profile("rp").Name != "" || host2.profile("default").Name != "" {
		t.Errorf("delete of two host2 profiles: %v", err)
	}
}

func TestKeyValues(t *testing.T) {
	tests := []struct {
		args []string
		want map[string]string
		ok   bool
	}{
		{[]string{"a=1"}, map[string]string{"a": "1"}, true},
		{[]string{"a=1", "b=x=y"}, map[string]string{"a": "1", "b": "x=y"}, true},
		{[]string{"a", "1"}, map[string]string{"a": "1"}, true},
		{[]string{"raw.lxc", "lxc.x = 1"}, map[string]string{"raw.lxc": "lxc.x = 1"}, true},
		{[]string{"a=", "b=2"}, map[string]string{"a": "", "b": "2"}, true},
		{[]string{"a"}, nil, false},
		{[]string{"=1"}, nil, false},
		{nil, nil, false},
	}
	for _, tt := range tests {
		got, err := keyValues(tt.args)
		if (err == nil) != tt.ok || (tt.ok && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("keyValues(%q) = %v, %v", tt.args, got, err)
		}
	}
}
