package instance

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"lite/client/api"
)

func TestLaunchCreatesThenStarts(t *testing.T) {
	fake, ios, stdout, stderr := newFake()
	err := RunCreate(context.Background(), &CreateOptions{IO: ios, Client: clientOf(fake), Start: true,
		Image: "debian/12", Name: "c9", Config: []string{"limits.memory=1GiB", "user.x=a=b"}})
	if err != nil {
		t.Fatal(err)
	}
	if stdout() != "Creating c9\nStarting c9\n" || stderr() != "" {
		t.Errorf("stdout = %q, stderr = %q", stdout(), stderr())
	}
	if got := fake.CallLog(); got != "POST instances c9\nPUT state c9 start force=false timeout=-1" {
		t.Errorf("calls:\n%s", got)
	}
	body, _ := json.Marshal(fake.Requests[0])
	for _, want := range []string{
		`"config":{"limits.memory":"1GiB","user.x":"a=b"}`, `"devices":{}`, `"profiles":null`,
		`"name":"c9"`, `"type":"container"`, `"source":{"type":"image","alias":"debian/12"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("request %s lacks %s", body, want)
		}
	}
}

// --target sends the create through the targeted client; the start needs no target.
func TestLaunchTargetPlaces(t *testing.T) {
	fake, ios, _, _ := newFake()
	err := RunCreate(context.Background(), &CreateOptions{IO: ios, Client: clientOf(fake), Start: true,
		Image: "debian/12", Name: "c9", Target: "host2"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.CallLog(); got != "target host2\nPOST instances c9\nPUT state c9 start force=false timeout=-1" {
		t.Errorf("calls:\n%s", got)
	}
}

func TestInitProfilesAndGeneratedName(t *testing.T) {
	fake, ios, stdout, _ := newFake()
	fake.CreatedName = "brave-owl"
	err := RunCreate(context.Background(), &CreateOptions{IO: ios, Client: clientOf(fake),
		Image: "0123abcd", NoProfiles: true})
	if err != nil {
		t.Fatal(err)
	}
	if stdout() != "Creating the instance\nInstance name is: brave-owl\n" {
		t.Errorf("stdout = %q", stdout())
	}
	if got := fake.CallLog(); got != "POST instances " {
		t.Errorf("init must not start: calls %q", got)
	}
	req := fake.Requests[0].(api.InstancesPost)
	if req.Profiles == nil || len(req.Profiles) != 0 {
		t.Errorf("--no-profiles sent profiles %#v, want []", req.Profiles)
	}

	fake, ios, _, _ = newFake()
	err = RunCreate(context.Background(), &CreateOptions{IO: ios, Client: clientOf(fake),
		Image: "x", Name: "n", Profiles: []string{"default", "big"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.Requests[0].(api.InstancesPost).Profiles; strings.Join(got, ",") != "default,big" {
		t.Errorf("profiles = %v", got)
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	fake, ios, _, _ := newFake()
	cases := []struct {
		opts CreateOptions
		want string
	}{
		{CreateOptions{Config: []string{"novalue"}}, `invalid config "novalue": want KEY=VALUE`},
		{CreateOptions{NoProfiles: true, Profiles: []string{"p"}}, "--no-profiles cannot be combined with --profile"},
	}
	for _, tc := range cases {
		opts := tc.opts
		opts.IO, opts.Client, opts.Image = ios, clientOf(fake), "debian/12"
		if err := RunCreate(context.Background(), &opts); err == nil || err.Error() != tc.want {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
	if len(fake.Calls) != 0 {
		t.Errorf("bad input reached the server: %v", fake.Calls)
	}
}

func TestLaunchShowsProgressOnlyOnATerminal(t *testing.T) {
	for _, tty := range []bool{true, false} {
		fake, ios, _, stderr := newFake()
		ios.ErrTTY = tty
		fake.Progress = []map[string]any{{"build_progress": "debootstrap: 50%"}}
		err := RunCreate(context.Background(), &CreateOptions{IO: ios, Client: clientOf(fake), Image: "debian/12", Name: "c"})
		if err != nil {
			t.Fatal(err)
		}
		shown := strings.Contains(stderr(), "\rBuilding image: debootstrap: 50%")
		if shown != tty {
			t.Errorf("tty=%v: stderr = %q", tty, stderr())
		}
	}
}

func TestLaunchReportsOperationFailure(t *testing.T) {
	fake, ios, _, _ := newFake()
	fake.Fail = map[string]error{"PUT state c start force=false timeout=-1": errors.New("Failed to start: no bridge")}
	err := RunCreate(context.Background(), &CreateOptions{IO: ios, Client: clientOf(fake), Image: "i", Name: "c", Start: true})
	want := "c was created but did not start: Failed to start: no bridge (it is stopped: fix the cause and `lite start c`, or `lite delete c`)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}
