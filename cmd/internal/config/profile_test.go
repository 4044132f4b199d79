package config

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/cli/clitest"
)

// fakeProfiles is a cli.Client (from clitest) that also serves profiles from memory.
type fakeProfiles struct {
	*clitest.Client
	profiles map[string]*api.Profile
	calls    []string
}

func (f *fakeProfiles) UpdateInstance(context.Context, string, api.InstancePut) (*client.Operation, error) {
	return nil, fmt.Errorf("not in this fake")
}

func (f *fakeProfiles) GetProfiles(ctx context.Context) ([]api.Profile, error) {
	out := []api.Profile{}
	for _, n := range sortedKeys(f.profiles) {
		out = append(out, *f.profiles[n])
	}
	return out, nil
}

func (f *fakeProfiles) GetProfile(ctx context.Context, name string) (*api.Profile, error) {
	p, ok := f.profiles[name]
	if !ok {
		return nil, fmt.Errorf("profile %q: %w", name, api.ErrNotFound)
	}
	c := *p
	c.Config, c.Devices = map[string]string{}, map[string]map[string]string{}
	for k, v := range p.Config {
		c.Config[k] = v
	}
	for k, v := range p.Devices {
		c.Devices[k] = v
	}
	return &c, nil
}

func (f *fakeProfiles) CreateProfile(ctx context.Context, p api.ProfilesPost) error {
	f.calls = append(f.calls, "create "+p.Name)
	f.profiles[p.Name] = &api.Profile{Name: p.Name, ProfilePut: p.ProfilePut}
	return nil
}

func (f *fakeProfiles) UpdateProfile(ctx context.Context, name string, p api.ProfilePut) error {
	f.calls = append(f.calls, "update "+name)
	f.profiles[name].ProfilePut = p
	return nil
}

func (f *fakeProfiles) RenameProfile(ctx context.Context, name, to string) error {
	f.calls = append(f.calls, "rename "+name+" "+to)
	return nil
}

func (f *fakeProfiles) DeleteProfile(ctx context.Context, name string) error {
	f.calls = append(f.calls, "delete "+name)
	return nil
}

func runProfile(t *testing.T, fake *fakeProfiles, stdin string, args ...string) (string, error) {
	t.Helper()
	ios, stdout, _ := cli.TestIO(stdin)
	cmd := newCmdProfile(&cli.Factory{IO: ios}, func() (Client, error) { return fake, nil })
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	return stdout.String(), err
}

func newFake() *fakeProfiles {
	return &fakeProfiles{Client: &clitest.Client{}, profiles: map[string]*api.Profile{
		"default": {Name: "default", ProfilePut: api.ProfilePut{Description: "Default", Config: map[string]string{},
			Devices: map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default"}}}, UsedBy: []string{"/1.0/instances/a"}},
	}}
}

func TestProfileCommands(t *testing.T) {
	fake := newFake()
	out, err := runProfile(t, fake, "", "list")
	if err != nil || !strings.Contains(out, "| default | Default     | 1       |") {
		t.Errorf("list: %v\n%s", err, out)
	}
	if out, err = runProfile(t, fake, "", "create", "p1"); err != nil || out != "Profile p1 created\n" {
		t.Errorf("create: %q %v", out, err)
	}
	if _, err = runProfile(t, fake, "", "set", "p1", "limits.memory=1GiB", "user.a=b"); err != nil {
		t.Fatal(err)
	}
	if _, err = runProfile(t, fake, "", "set", "p1", "limits.cpu", "2"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"limits.memory": "1GiB", "user.a": "b", "limits.cpu": "2"}
	if !reflect.DeepEqual(fake.profiles["p1"].Config, want) {
		t.Errorf("config after set = %v", fake.profiles["p1"].Config)
	}
	if out, _ = runProfile(t, fake, "", "get", "p1", "limits.cpu"); out != "2\n" {
		t.Errorf("get = %q", out)
	}
	if _, err = runProfile(t, fake, "", "unset", "p1", "user.a"); err != nil {
		t.Fatal(err)
	}
	if _, err = runProfile(t, fake, "", "unset", "p1", "user.a"); err == nil || !strings.Contains(err.Error(), "not set") {
		t.Errorf("unset of a missing key: %v", err)
	}
	if _, err = runProfile(t, fake, "", "set", "p1", "novalue"); err == nil {
		t.Error("set without a value accepted")
	}
	if out, err = runProfile(t, fake, "", "device", "add", "p1", "data", "disk", "source=/srv", "path=/data"); err != nil || out != "Device data added to p1\n" {
		t.Errorf("device add: %q %v", out, err)
	}
	if _, err = runProfile(t, fake, "", "device", "add", "p1", "data", "disk"); err == nil {
		t.Error("adding an existing device succeeded")
	}
	if _, err = runProfile(t, fake, "", "device", "set", "p1", "data", "readonly=true"); err != nil {
		t.Fatal(err)
	}
	wantDev := map[string]string{"type": "disk", "source": "/srv", "path": "/data", "readonly": "true"}
	if !reflect.DeepEqual(fake.profiles["p1"].Devices["data"], wantDev) {
		t.Errorf("device = %v", fake.profiles["p1"].Devices["data"])
	}
	if out, _ = runProfile(t, fake, "", "device", "list", "p1"); out != "data\n" {
		t.Errorf("device list = %q", out)
	}
	if out, err = runProfile(t, fake, "", "device", "remove", "p1", "data"); err != nil || out != "Device data removed from p1\n" {
		t.Errorf("device remove: %q %v", out, err)
	}
	if _, err = runProfile(t, fake, "", "device", "remove", "p1", "data"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("removing a missing device: %v", err)
	}
	// edit from stdin (not a terminal) replaces the writable part.
	if _, err = runProfile(t, fake, "description: new\nconfig:\n  limits.cpu: 1\n", "edit", "p1"); err != nil {
		t.Fatal(err)
	}
	if p := fake.profiles["p1"]; p.Description != "new" || !reflect.DeepEqual(p.Config, map[string]string{"limits.cpu": "1"}) || len(p.Devices) != 0 {
		t.Errorf("after edit: %+v", p)
	}
	if _, err = runProfile(t, fake, "config: [not, a, map]\n", "edit", "p1"); err == nil || !strings.Contains(err.Error(), "YAML") {
		t.Errorf("edit with bad YAML: %v", err)
	}
	if out, _ = runProfile(t, fake, "", "rename", "p1", "p2"); out != "Profile p1 renamed to p2\n" {
		t.Errorf("rename: %q", out)
	}
	if out, _ = runProfile(t, fake, "", "delete", "p2"); out != "Profile p2 deleted\n" {
		t.Errorf("delete: %q", out)
	}
	if _, err = runProfile(t, fake, "", "show", "nope"); err == nil {
		t.Error("show of a missing profile succeeded")
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
