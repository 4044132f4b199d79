package server_test

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"sync"
	"testing"

	"lite/client/api"
	"lite/lxd-lite/network"
)

// fakeNetworks keeps networks in memory, validating keys with the real table.
type fakeNetworks struct {
	mu   sync.Mutex
	nets map[string]api.Network
}

func (f *fakeNetworks) Create(_ context.Context, req api.NetworksPost) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := network.ValidateName(req.Name); err != nil {
		return err
	}
	if err := network.ValidateConfig(req.Config); err != nil {
		return err
	}
	if _, ok := f.nets[req.Name]; ok {
		return fmt.Errorf("network %q: %w", req.Name, api.ErrAlreadyExists)
	}
	f.nets[req.Name] = api.Network{NetworkPut: api.NetworkPut{Config: maps.Clone(req.Config), Description: req.Description},
		Name: req.Name, Type: "bridge", Managed: true, Status: "Created", UsedBy: []string{}, Locations: []string{}}
	return nil
}

func (f *fakeNetworks) Update(_ context.Context, name string, put api.NetworkPut) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.nets[name]
	if !ok {
		return fmt.Errorf("network %q: %w", name, api.ErrNotFound)
	}
	if err := network.ValidateConfig(put.Config); err != nil {
		return err
	}
	n.NetworkPut = put
	f.nets[name] = n
	return nil
}

func (f *fakeNetworks) Rename(_ context.Context, old, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.nets[old]
	if !ok {
		return fmt.Errorf("network %q: %w", old, api.ErrNotFound)
	}
	delete(f.nets, old)
	n.Name = name
	f.nets[name] = n
	return nil
}

func (f *fakeNetworks) Delete(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.nets[name]
	if !ok {
		return fmt.Errorf("network %q: %w", name, api.ErrNotFound)
	}
	if len(n.UsedBy) > 0 {
		return fmt.Errorf("network %q is in use: %w", name, api.ErrConflict)
	}
	delete(f.nets, name)
	return nil
}

func (f *fakeNetworks) Get(_ context.Context, name string) (api.Network, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.nets[name]
	if !ok {
		return api.Network{}, fmt.Errorf("network %q: %w", name, api.ErrNotFound)
	}
	return n, nil
}

func (f *fakeNetworks) List(ctx context.Context) ([]api.Network, error) {
	f.mu.Lock()
	names := make([]string, 0, len(f.nets))
	for n := range f.nets {
		names = append(names, n)
	}
	f.mu.Unlock()
	sort.Strings(names)
	out := []api.Network{}
	for _, n := range names {
		x, _ := f.Get(ctx, n)
		out = append(out, x)
	}
	return out, nil
}

func (f *fakeNetworks) State(ctx context.Context, name string) (api.NetworkState, error) {
	if _, err := f.Get(ctx, name); err != nil {
		return api.NetworkState{}, err
	}
	return api.NetworkState{Addresses: []api.NetworkStateAddress{}, State: "up", Type: "broadcast", Mtu: 1500}, nil
}

func (f *fakeNetworks) Leases(ctx context.Context, name string) ([]api.NetworkLease, error) {
	if _, err := f.Get(ctx, name); err != nil {
		return nil, err
	}
	return []api.NetworkLease{{Hostname: "c1", Hwaddr: "00:16:3e:00:00:01", Address: "10.77.5.9", Type: "dynamic", Location: "none"}}, nil
}

func TestNetworkEndpoints(t *testing.T) {
	f := &fakeNetworks{nets: map[string]api.Network{}}
	e := newEnvWith(t, envOptions{networks: f})

	r := e.do("POST", "/1.0/networks", map[string]any{"name": "lab", "config": map[string]string{"ipv4.address": "10.77.5.1/24"}})
	if r.status != 201 || r.header.Get("Location") != "/1.0/networks/lab" {
		t.Fatalf("create: HTTP %d, Location %q: %s", r.status, r.header.Get("Location"), r.body)
	}
	e.fail("POST", "/1.0/networks", map[string]any{"name": "lab"}, 409)
	e.fail("POST", "/1.0/networks", map[string]any{"name": "bad", "config": map[string]string{"ipv4.address": "10.1.1.0/24"}}, 400)
	e.fail("POST", "/1.0/networks", map[string]any{"name": "a/b"}, 400)

	var urls []string
	e.ok("GET", "/1.0/networks", nil, &urls)
	if len(urls) != 1 || urls[0] != "/1.0/networks/lab" {
		t.Errorf("list = %v", urls)
	}
	var list []api.Network
	e.ok("GET", "/1.0/networks?recursion=1", nil, &list)
	if len(list) != 1 || !list[0].Managed || list[0].Config["ipv4.address"] != "10.77.5.1/24" {
		t.Errorf("list recursion=1 = %+v", list)
	}

	// PATCH merges keys, an empty value unsets one; PUT replaces.
	e.ok("PATCH", "/1.0/networks/lab", map[string]any{"config": map[string]string{"dns.domain": "lab", "ipv4.address": ""}}, nil)
	var n api.Network
	e.ok("GET", "/1.0/networks/lab", nil, &n)
	if n.Config["dns.domain"] != "lab" || n.Config["ipv4.address"] != "" {
		t.Errorf("after PATCH: %v", n.Config)
	}
	e.ok("PUT", "/1.0/networks/lab", map[string]any{"config": map[string]string{"ipv4.nat": "false"}, "description": "d"}, nil)
	n = api.Network{} // decoding into a filled map would merge
	e.ok("GET", "/1.0/networks/lab", nil, &n)
	if len(n.Config) != 1 || n.Description != "d" {
		t.Errorf("after PUT: %+v", n)
	}
	e.fail("PUT", "/1.0/networks/lab", map[string]any{"config": map[string]string{"bridge.mtu": "5"}}, 400)
	e.fail("PUT", "/1.0/networks/nope", map[string]any{"config": map[string]string{}}, 404)

	var st api.NetworkState
	e.ok("GET", "/1.0/networks/lab/state", nil, &st)
	if st.State != "up" {
		t.Errorf("state = %+v", st)
	}

	var leases []api.NetworkLease
	e.ok("GET", "/1.0/networks/lab/leases", nil, &leases)
	if len(leases) != 1 || leases[0].Address != "10.77.5.9" {
		t.Errorf("leases = %+v", leases)
	}
	e.fail("GET", "/1.0/networks/nope/leases", nil, 404)

	r = e.do("POST", "/1.0/networks/lab", map[string]any{"name": "lab2"})
	if r.status != 201 {
		t.Fatalf("rename: HTTP %d: %s", r.status, r.body)
	}
	e.fail("GET", "/1.0/networks/lab", nil, 404)
	f.mu.Lock()
	busy := f.nets["lab2"]
	busy.UsedBy = []string{"/1.0/instances/c1"}
	f.nets["lab2"] = busy
	f.mu.Unlock()
	e.fail("DELETE", "/1.0/networks/lab2", nil, 409)
	busy.UsedBy = []string{}
	f.mu.Lock()
	f.nets["lab2"] = busy
	f.mu.Unlock()
	e.ok("DELETE", "/1.0/networks/lab2", nil, nil)
	e.fail("DELETE", "/1.0/networks/lab2", nil, 404)
}
