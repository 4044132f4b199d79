package config

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
)

// baseOn returns the inputs of a Run test on d's name, and what it prints.
func baseOn(t *testing.T, d *daemon, name string) (base, *strings.Builder) {
	ios, _, _ := cli.TestIO("")
	out := &strings.Builder{}
	ios.Out = out
	c := d.Client(t)
	return base{IO: ios, Client: func() (Client, error) { return c, nil }, Name: name}, out
}

func TestInstanceConfig(t *testing.T) {
	d := newDaemon(t)
	ctx := t.Context()
	b, out := baseOn(t, d, "c1")
	if err := RunSet(ctx, &SetOptions{base: b, Args: []string{"limits.memory=1GiB", "user.a=b"}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"limits.cpu": "1", "limits.memory": "1GiB", "user.a": "b"}
	if got := d.instance("c1").Config; !reflect.DeepEqual(got, want) {
		t.Errorf("config after set = %v", got)
	}
	if err := RunGet(ctx, &GetOptions{base: b, Key: "limits.memory"}); err != nil || out.String() != "1GiB\n" {
		t.Errorf("get: %q %v", out, err)
	}
	out.Reset()
	if err := RunGet(ctx, &GetOptions{base: b, Key: "user.p", Expanded: true}); err != nil || out.String() != "x\n" {
		t.Errorf("get --expanded of a profile's key: %q %v", out, err)
	}
	out.Reset()
	if err := RunShow(ctx, &ShowOptions{base: b}); err != nil || !strings.Contains(out.String(), "limits.memory: 1GiB") || !strings.Contains(out.String(), "- default") {
		t.Errorf("show: %v\n%s", err, out)
	}
	if err := RunUnset(ctx, &UnsetOptions{base: b, Keys: []string{"user.a"}}); err != nil || d.instance("c1").Config["user.a"] != "" {
		t.Errorf("unset: %v %v", err, d.instance("c1").Config)
	}
	puts := strings.Count(d.CallLog(), "PUT /1.0/instances/c1")
	for _, run := range []func() error{
		func() error { return RunUnset(ctx, &UnsetOptions{base: b, Keys: []string{"user.a"}}) },
		func() error { return RunSet(ctx, &SetOptions{base: b, Args: []string{"volatile.eth0.hwaddr=x"}}) },
		func() error { return RunUnset(ctx, &UnsetOptions{base: b, Keys: []string{"volatile.idmap"}}) },
		func() error { return RunSet(ctx, &SetOptions{base: b, Args: []string{"novalue"}}) },
	} {
		if err := run(); err == nil {
			t.Error("bad change accepted")
		}
	}
	if n := strings.Count(d.CallLog(), "PUT /1.0/instances/c1"); n != puts {
		t.Errorf("refused changes sent %d updates", n-puts)
	}
	// A failed update is the command's error.
	d.updateOp = api.Operation{StatusCode: api.Failure, Err: "Invalid config: bad limits.cpu"}
	if err := RunSet(ctx, &SetOptions{base: b, Args: []string{"limits.cpu", "x"}}); err == nil || err.Error() != "Invalid config: bad limits.cpu" {
		t.Errorf("failed update: %v, want the operation's error", err)
	}
	d.updateOp = api.Operation{}
	b.IO.In = strings.NewReader("config:\n  user.e: edited\nprofiles: [default]\n")
	if err := RunEdit(ctx, &EditOptions{base: b}); err != nil {
		t.Fatal(err)
	}
	if i := d.instance("c1"); !reflect.DeepEqual(i.Config, map[string]string{"user.e": "edited"}) || !reflect.DeepEqual(i.Profiles, []string{"default"}) {
		t.Errorf("after edit: %+v", i.InstancePut)
	}
	b.Name = "nope"
	if err := RunGet(ctx, &GetOptions{base: b, Key: "x"}); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("get on a missing instance: %v, want ErrNotFound", err)
	}
}

// TestInstanceDevices: a device from a profile is copied to the instance when changed, and
// cannot be removed from it.
func TestInstanceDevices(t *testing.T) {
	d := newDaemon(t)
	f, buf := factory(t, d, "", nil)
	cmd := NewCmdConfig(f)
	if _, err := run(cmd, buf, "device", "set", "c1", "root", "size=1GiB"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"type": "disk", "path": "/", "pool": "default", "size": "1GiB"}
	if got := d.instance("c1").Devices["root"]; !reflect.DeepEqual(got, want) {
		t.Errorf("root after set = %v, want the profile's device with the change", got)
	}
	d.mu.Lock()
	inst := d.instances["c1"]
	inst.Devices = nil
	d.instances["c1"] = inst
	d.mu.Unlock()
	if _, err := run(cmd, buf, "device", "remove", "c1", "root"); err == nil || !strings.Contains(err.Error(), "comes from a profile") {
		t.Errorf("removing a profile's device: %v", err)
	}
	if out, err := run(cmd, buf, "device", "get", "c1", "root", "pool"); err != nil || out != "default\n" {
		t.Errorf("device get of a profile's device: %q %v", out, err)
	}
	if out, err := run(cmd, buf, "device", "add", "c1", "eth1", "nic", "network=n1"); err != nil || out != "Device eth1 added to c1\n" {
		t.Errorf("device add: %q %v", out, err)
	}
	if _, err := run(cmd, buf, "device", "list", "c1", "extra"); err == nil {
		t.Error("device list with two arguments accepted")
	}
}

// TestConfigTargets: lite config sends each call to the instance or the server (of a remote)
// its arguments name, and refuses a short call before any request.
func TestConfigTargets(t *testing.T) {
	local, host2 := newDaemon(t), newDaemon(t)
	local.config["core.https_address"] = "127.0.0.1:8443"
	f, buf := factory(t, local, "", map[string]*daemon{"host2": host2})
	cmd := NewCmdConfig(f)
	for _, tc := range []struct {
		args      []string
		out       string
		on, calls string // "local" or "host2", and the requests it gets
	}{
		{[]string{"get", "c1", "limits.cpu"}, "1\n", "local", "GET /1.0/instances/c1?recursion=1"},
		{[]string{"get", "core.https_address"}, "127.0.0.1:8443\n", "local", "GET /1.0"},
		{[]string{"get", "host2:", "core.https_address"}, "\n", "host2", "GET /1.0"},
		{[]string{"get", "host2:c1", "user.p", "-e"}, "x\n", "host2", "GET /1.0/instances/c1?recursion=1"},
		{[]string{"show"}, "config:\n  core.https_address: 127.0.0.1:8443\n", "local", "GET /1.0"},
		{[]string{"set", "host2:c1", "user.a=1"}, "", "host2", "GET /1.0/instances/c1?recursion=1\nPUT /1.0/instances/c1"},
		{[]string{"set", "host2:", "core.https_address", ":8443"}, "", "host2", "GET /1.0\nPUT /1.0"},
		{[]string{"unset", "core.https_address"}, "", "local", "GET /1.0\nPUT /1.0"},
	} {
		d, other := local, host2
		if tc.on == "host2" {
			d, other = host2, local
		}
		before, otherBefore := d.CallLog(), other.CallLog()
		out, err := run(cmd, buf, tc.args...)
		if got := strings.TrimPrefix(strings.TrimPrefix(d.CallLog(), before), "\n"); err != nil || out != tc.out || got != tc.calls || other.CallLog() != otherBefore {
			t.Errorf("%q: %q, %v; %s got %q, want %q (and nothing on the other)", tc.args, out, err, tc.on, got, tc.calls)
		}
	}
	if host2.instance("c1").Config["user.a"] != "1" || host2.serverConfig()["core.https_address"] != ":8443" || len(local.serverConfig()) != 0 {
		t.Errorf("host2's c1 config %v, host2's server config %v, local server config %v", host2.instance("c1").Config, host2.serverConfig(), local.serverConfig())
	}
	before, host2Before := local.CallLog(), host2.CallLog()
	for _, args := range [][]string{{"get", "c1"}, {"get", "host2:"}, {"set", "c1"}, {"unset", "c1"}, {"unset", "host2:"}, {"trust", "list", "host2:c1"}} {
		if _, err := run(cmd, buf, args...); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", args, err)
		}
	}
	if local.CallLog() != before || host2.CallLog() != host2Before {
		t.Errorf("refused calls sent requests")
	}
	// The options the command line makes, without running them.
	var got *GetOptions
	get := NewCmdGet(f, func(_ context.Context, o *GetOptions) error { got = o; return nil })
	if _, err := run(get, buf, "host2:c1", "limits.cpu", "--expanded"); err != nil || got.Name != "c1" || got.Key != "limits.cpu" || !got.Expanded {
		t.Errorf("get options %+v, %v", got, err)
	}
}

// TestServerConfig: keys are checked against the server's table before any request, and an
// edit replaces the whole config.
func TestServerConfig(t *testing.T) {
	d := newDaemon(t)
	b, out := baseOn(t, d, "")
	ctx := t.Context()
	if err := RunSet(ctx, &SetOptions{base: b, Args: []string{"core.nosuch=1"}}); !errors.Is(err, api.ErrInvalid) || strings.Contains(d.CallLog(), "PUT") {
		t.Errorf("unknown server key: %v; calls %q", err, d.CallLog())
	}
	if err := RunUnset(ctx, &UnsetOptions{base: b, Keys: []string{"core.https_address"}}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("unset of a key not set: %v", err)
	}
	b.IO.In = strings.NewReader("config:\n  core.https_address: 127.0.0.1:9443\n")
	if err := RunEdit(ctx, &EditOptions{base: b}); err != nil || !reflect.DeepEqual(d.serverConfig(), map[string]string{"core.https_address": "127.0.0.1:9443"}) {
		t.Errorf("edit: %v, config %v", err, d.serverConfig())
	}
	b.IO.In = strings.NewReader("config:\n  core.nosuch: x\n")
	if err := RunEdit(ctx, &EditOptions{base: b}); !errors.Is(err, api.ErrInvalid) || d.serverConfig()["core.nosuch"] != "" {
		t.Errorf("edit with an unknown key: %v, config %v", err, d.serverConfig())
	}
	if err := RunShow(ctx, &ShowOptions{base: b}); err != nil || out.String() != "config:\n  core.https_address: 127.0.0.1:9443\n" {
		t.Errorf("show: %q %v", out, err)
	}
}

// TestUpdateInterrupted: Ctrl-C while an instance update runs cancels its operation, and the
// error is an interrupt (exit code 130).
func TestUpdateInterrupted(t *testing.T) {
	d := newDaemon(t)
	d.updateOp = api.Operation{StatusCode: api.Running, MayCancel: true, Description: "Updating instance"}
	b, _ := baseOn(t, d, "c1")
	ctx, cancel := context.WithCancel(t.Context())
	b.Client = cancelOnUpdate(b.Client, cancel)
	err := RunSet(ctx, &SetOptions{base: b, Args: []string{"user.a=1"}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "(Updating instance) cancelled") {
		t.Fatalf("interrupted update: %v, want the operation cancelled", err)
	}
	if got := d.CallLog(); got != "GET /1.0/instances/c1?recursion=1\nPUT /1.0/instances/c1\nDELETE /1.0/operations/op1" {
		t.Errorf("calls %q, want the update's operation cancelled", got)
	}
	if code := cli.ExitCode(&strings.Builder{}, err); code != 130 {
		t.Errorf("exit code %d, want 130", code)
	}
}

// cancelOnUpdate returns get's client with an UpdateInstance that calls cancel once the
// update is sent, as a Ctrl-C while lite waits for it.
func cancelOnUpdate(get func() (Client, error), cancel func()) func() (Client, error) {
	return func() (Client, error) {
		c, err := get()
		return updateCanceller{c, cancel}, err
	}
}

type updateCanceller struct {
	Client
	cancel func()
}

func (u updateCanceller) UpdateInstance(ctx context.Context, name string, put api.InstancePut) (*client.Operation, error) {
	op, err := u.Client.UpdateInstance(ctx, name, put)
	u.cancel()
	return op, err
}
