package network

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
)

// fake is a network Client that keeps networks in memory and records writes.
type fake struct {
	nets   map[string]*api.Network
	puts   []api.NetworkPut
	posts  []api.NetworksPost
	failed error
}

func (f *fake) GetNetworks(ctx context.Context) ([]api.Network, error) {
	out := []api.Network{}
	for _, n := range []string{"litebr0", "lab"} {
		if x, ok := f.nets[n]; ok {
			out = append(out, *x)
		}
	}
	return out, nil
}

func (f *fake) GetNetwork(ctx context.Context, name string) (*api.Network, error) {
	if n, ok := f.nets[name]; ok {
		c := *n
		return &c, nil
	}
	return nil, &api.StatusError{Status: 404, Msg: "network not found"}
}
func (f *fake) GetNetworkState(context.Context, string) (*api.NetworkState, error) {
	return &api.NetworkState{}, nil
}
func (f *fake) CreateNetwork(ctx context.Context, req api.NetworksPost) error {
	f.posts = append(f.posts, req)
	return f.failed
}
func (f *fake) UpdateNetwork(ctx context.Context, name string, put api.NetworkPut) error {
	f.puts = append(f.puts, put)
	return f.failed
}
func (f *fake) RenameNetwork(context.Context, string, api.NetworkPost) error { return f.failed }
func (f *fake) DeleteNetwork(_ context.Context, _ string) error              { return f.failed }
func (f *fake) GetNetworkLeases(_ context.Context, _ string) ([]api.NetworkLease, error) {
	return []api.NetworkLease{{Hostname: "web1", Hwaddr: "00:16:3e:00:00:01", Address: "10.1.2.5", Type: "static"}}, nil
}

func newFake() *fake {
	return &fake{nets: map[string]*api.Network{
		"litebr0": {Name: "litebr0", Type: "bridge", Managed: true, Status: "Created", UsedBy: []string{"/1.0/profiles/default"},
			NetworkPut: api.NetworkPut{Config: map[string]string{"ipv4.address": "10.1.2.1/24", "ipv4.nat": "true"}, Description: "d"}},
	}}
}

func opts(f *fake) (base, func() string) {
	ios, out, _ := cli.TestIO("")
	return base{IO: ios, Client: func() (Client, error) { return f, nil }}, out.String
}

// on returns o naming the network name.
func on(o base, name string) base {
	o.Name = name
	return o
}

func TestList(t *testing.T) {
	o, out := opts(newFake())
	if err := RunList(context.Background(), &ListOptions{base: o, Format: output.CSV}); err != nil {
		t.Fatal(err)
	}
	if got := out(); got != "litebr0,bridge,YES,10.1.2.1/24,,d,1,CREATED\n" {
		t.Errorf("csv = %q", got)
	}
}

func TestCreateParsesKeyValues(t *testing.T) {
	f := newFake()
	o, out := opts(f)
	if err := RunCreate(context.Background(), &CreateOptions{base: on(o, "lab"), Config: []string{"ipv4.address=10.77.5.1/24", "ipv4.nat=false"}}); err != nil {
		t.Fatal(err)
	}
	if len(f.posts) != 1 || f.posts[0].Name != "lab" || f.posts[0].Config["ipv4.nat"] != "false" || f.posts[0].Type != "bridge" {
		t.Errorf("posted %+v", f.posts)
	}
	if !strings.Contains(out(), "Network lab created") {
		t.Errorf("out = %q", out())
	}
	if err := RunCreate(context.Background(), &CreateOptions{base: on(o, "lab"), Config: []string{"novalue"}}); !errors.Is(err, api.ErrInvalid) || len(f.posts) != 1 {
		t.Errorf("bad arg: %v, posts %d", err, len(f.posts))
	}
}

func TestSetAndUnset(t *testing.T) {
	f := newFake()
	o, _ := opts(f)
	if err := RunSet(context.Background(), &SetOptions{base: on(o, "litebr0"), Args: []string{"dns.domain", "lab"}}); err != nil {
		t.Fatal(err)
	}
	if err := RunSet(context.Background(), &SetOptions{base: on(o, "litebr0"), Args: []string{"ipv4.nat="}}); err != nil {
		t.Fatal(err)
	}
	if len(f.puts) != 2 || f.puts[0].Config["dns.domain"] != "lab" || f.puts[0].Config["ipv4.address"] != "10.1.2.1/24" || f.puts[0].Description != "d" {
		t.Fatalf("puts = %+v", f.puts)
	}
	if _, ok := f.puts[1].Config["ipv4.nat"]; ok {
		t.Errorf("unset kept the key: %v", f.puts[1].Config)
	}
	if f.nets["litebr0"].Config["dns.domain"] != "" {
		t.Errorf("set changed the fetched object in place")
	}
	if err := RunSet(context.Background(), &SetOptions{base: on(o, "litebr0"), Args: []string{"no.such="}}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("unset of a missing key = %v", err)
	}
	if err := RunSet(context.Background(), &SetOptions{base: on(o, "nope"), Args: []string{"a", "b"}}); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("missing network = %v", err)
	}
}

func TestGet(t *testing.T) {
	o, out := opts(newFake())
	if err := RunGet(context.Background(), &GetOptions{base: on(o, "litebr0"), Key: "ipv4.address"}); err != nil {
		t.Fatal(err)
	}
	if err := RunGet(context.Background(), &GetOptions{base: on(o, "litebr0"), Key: "dns.domain"}); err != nil {
		t.Fatal(err)
	}
	if got := out(); got != "10.1.2.1/24\n\n" {
		t.Errorf("get ipv4.address, dns.domain (unset) = %q", got)
	}
	if err := RunGet(context.Background(), &GetOptions{base: on(o, "nope"), Key: "ipv4.address"}); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("missing network = %v", err)
	}
	var got *GetOptions
	ios, _, _ := cli.TestIO("")
	cmd := NewCmdGet(&cli.Factory{IO: ios}, func(_ context.Context, o *GetOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"n1", "ipv4.nat"})
	if err := cmd.Execute(); err != nil || got == nil || got.Name != "n1" || got.Key != "ipv4.nat" {
		t.Errorf("lite network get n1 ipv4.nat: options %+v, err %v", got, err)
	}
}

func TestLeases(t *testing.T) {
	o, out := opts(newFake())
	if err := RunLeases(context.Background(), &LeasesOptions{base: on(o, "litebr0"), Format: output.CSV}); err != nil {
		t.Fatal(err)
	}
	if got := out(); got != "web1,00:16:3e:00:00:01,10.1.2.5,STATIC\n" {
		t.Errorf("csv = %q", got)
	}
}

// TestCommandsParseArguments: the commands fill their options from the arguments.
func TestCommandsParseArguments(t *testing.T) {
	ios, _, _ := cli.TestIO("")
	f := &cli.Factory{IO: ios}
	var set *SetOptions
	record := func(_ context.Context, o *SetOptions) error { set = o; return nil }
	for _, tc := range []struct {
		cmd  *cobra.Command
		args []string
		want []string
	}{
		{NewCmdSet(f, record), []string{"n1", "dns.domain", "lab"}, []string{"dns.domain", "lab"}},
		{NewCmdSet(f, record), []string{"n1", "a=1", "b=2"}, []string{"a=1", "b=2"}},
		{NewCmdUnset(f, record), []string{"n1", "ipv4.nat"}, []string{"ipv4.nat="}},
	} {
		set = nil
		tc.cmd.SetArgs(tc.args)
		if err := tc.cmd.Execute(); err != nil || set == nil || set.Name != "n1" || !reflect.DeepEqual(set.Args, tc.want) {
			t.Errorf("%s %v: options %+v, err %v", tc.cmd.Name(), tc.args, set, err)
		}
	}
	var created *CreateOptions
	cmd := NewCmdCreate(f, func(_ context.Context, o *CreateOptions) error { created = o; return nil })
	cmd.SetArgs([]string{"lab", "ipv4.address=10.9.0.1/24", "--description", "d"})
	if err := cmd.Execute(); err != nil || created.Name != "lab" || created.Description != "d" || !reflect.DeepEqual(created.Config, []string{"ipv4.address=10.9.0.1/24"}) {
		t.Errorf("create options %+v, err %v", created, err)
	}
	list := NewCmdList(f, func(context.Context, *ListOptions) error { t.Error("list ran"); return nil })
	list.SetArgs([]string{"n1"})
	list.SetOut(io.Discard)
	list.SetErr(io.Discard)
	if err := list.Execute(); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("lite network list n1: %v, want ErrInvalid (it takes a server)", err)
	}
}
