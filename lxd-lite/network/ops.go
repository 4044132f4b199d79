package network

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/netutil"
	"lite/lxd-lite/revert"
	"lite/profiles"
)

// Create makes a managed bridge network: row, bridge, dnsmasq and firewall rules, or nothing.
func (m *Manager) Create(ctx context.Context, req api.NetworksPost) error {
	if err := ValidateName(req.Name); err != nil {
		return err
	}
	if req.Type == "" {
		req.Type = "bridge"
	}
	if req.Type != "bridge" {
		return fmt.Errorf("network type %q is not supported: lite manages bridges: %w", req.Type, api.ErrInvalid)
	}
	cfg := maps.Clone(req.Config)
	if cfg == nil {
		cfg = map[string]string{}
	}
	if err := ValidateConfig(cfg); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkNameFree(ctx, req.Name); err != nil {
		return err
	}
	if err := m.resolveAuto(ctx, req.Name, cfg); err != nil {
		return err
	}
	if cfg["ipv6.address"] == "" {
		cfg["ipv6.address"] = "none" // lite manages IPv4 only; say so as LXD would show it
	}
	if gw := SettingsOf(cfg).Gateway; gw.IsValid() {
		if err := m.checkSubnet(ctx, req.Name, gw); err != nil {
			return err
		}
	}
	n := db.Network{Name: req.Name, Description: req.Description, Type: req.Type, Config: cfg}
	rev := revert.New()
	defer rev.Fail()
	// Runs last: once the firewall was touched, put back the rules of the networks left.
	firewallTouched := false
	rev.Add(func() {
		if !firewallTouched {
			return
		}
		if err := m.applyFirewall(context.Background()); err != nil {
			m.o.Log.Error("revert firewall", "err", err)
		}
	})
	if err := m.o.DB.CreateNetwork(ctx, n); err != nil {
		return err
	}
	rev.Add(func() {
		if err := m.o.DB.DeleteNetwork(context.Background(), n.Name); err != nil {
			m.o.Log.Error("revert network row", "network", n.Name, "err", err)
		}
	})
	// The row's id is the network's VXLAN id in a cluster.
	n, err := m.o.DB.GetNetwork(ctx, n.Name)
	if err != nil {
		return err
	}
	// down removes whatever part of the bridge and dnsmasq up got as far as making.
	rev.Add(func() {
		if err := m.down(n.Name); err != nil {
			m.o.Log.Error("revert network create", "network", n.Name, "err", err)
		}
	})
	if _, err := m.up(n, true); err != nil {
		return err
	}
	firewallTouched = true
	if err := m.applyFirewall(ctx); err != nil {
		return err
	}
	rev.Success()
	return nil
}

// Update replaces a network's config and description (PUT); the bridge, dnsmasq and rules
// follow. On failure the old config is put back.
func (m *Manager) Update(ctx context.Context, name string, put api.NetworkPut) error {
	cfg := maps.Clone(put.Config)
	if cfg == nil {
		cfg = map[string]string{}
	}
	if err := ValidateConfig(cfg); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, err := m.o.DB.GetNetwork(ctx, name)
	if err != nil {
		return err
	}
	// Only an explicit auto picks a subnet here; an unset address means no IPv4.
	if cfg["ipv4.address"] == "auto" {
		if err := m.resolveAuto(ctx, name, cfg); err != nil {
			return err
		}
	}
	if gw := SettingsOf(cfg).Gateway; gw.IsValid() && gw != SettingsOf(old.Config).Gateway {
		if err := m.checkSubnet(ctx, name, gw); err != nil {
			return err
		}
	}
	next := old
	next.Config, next.Description = cfg, put.Description
	rev := revert.New()
	defer rev.Fail()
	if err := m.o.DB.UpdateNetwork(ctx, next); err != nil {
		return err
	}
	rev.Add(func() { m.revertUpdate(old) })
	if _, err := m.up(next, false); err != nil {
		return err
	}
	if err := m.applyFirewall(ctx); err != nil {
		return err
	}
	rev.Success()
	return nil
}

func (m *Manager) revertUpdate(old db.Network) {
	ctx := context.Background()
	if err := m.o.DB.UpdateNetwork(ctx, old); err != nil {
		m.o.Log.Error("revert network update", "network", old.Name, "err", err)
	}
	if _, err := m.up(old, false); err != nil {
		m.o.Log.Error("revert network update", "network", old.Name, "err", err)
	}
	if err := m.applyFirewall(ctx); err != nil {
		m.o.Log.Error("revert firewall", "err", err)
	}
}

// Delete removes a network nobody uses: its dnsmasq, bridge, files, rules and row.
func (m *Manager) Delete(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.o.DB.GetNetwork(ctx, name); err != nil {
		return err
	}
	users, err := m.usedBy(ctx, name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("network %q is in use by %s: %w", name, strings.Join(users, ", "), api.ErrConflict)
	}
	// Host first: a crash in between leaves a row that Restore brings back up, never an
	// orphaned bridge.
	if err := m.down(name); err != nil {
		return err
	}
	if err := m.o.DB.DeleteNetwork(ctx, name); err != nil {
		return err
	}
	return m.applyFirewall(ctx)
}

// Rename gives an unused network a new name (and its bridge with it).
func (m *Manager) Rename(ctx context.Context, old, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.o.DB.GetNetwork(ctx, old)
	if err != nil {
		return err
	}
	if err := m.checkNameFree(ctx, name); err != nil {
		return err
	}
	users, err := m.usedBy(ctx, old)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("network %q is in use by %s: rename it when nothing uses it: %w", old, strings.Join(users, ", "), api.ErrConflict)
	}
	rev := revert.New()
	defer rev.Fail()
	if err := m.down(old); err != nil {
		return err
	}
	prev := n
	rev.Add(func() {
		if _, err := m.up(prev, true); err != nil {
			m.o.Log.Error("revert network rename: bring the old bridge back", "network", old, "err", err)
		}
		if err := m.applyFirewall(context.Background()); err != nil {
			m.o.Log.Error("revert firewall", "err", err)
		}
	})
	if err := m.o.DB.RenameNetwork(ctx, old, name); err != nil {
		return err
	}
	rev.Add(func() {
		if err := m.down(name); err != nil {
			m.o.Log.Error("revert network rename: remove the new bridge", "network", name, "err", err)
		}
		if err := m.o.DB.RenameNetwork(context.Background(), name, old); err != nil {
			m.o.Log.Error("revert network rename: row", "network", name, "err", err)
		}
	})
	n.Name = name
	if _, err := m.up(n, true); err != nil {
		return err
	}
	if err := m.applyFirewall(ctx); err != nil {
		return err
	}
	rev.Success()
	return nil
}

// checkNameFree fails with ErrAlreadyExists when a network, or any host interface, is called
// name (create and rename): the bridge takes the network's name. Call it with m.mu held.
func (m *Manager) checkNameFree(ctx context.Context, name string) error {
	if _, err := m.o.DB.GetNetwork(ctx, name); err == nil {
		return fmt.Errorf("network %q already exists: %w", name, api.ErrAlreadyExists)
	} else if !errors.Is(err, api.ErrNotFound) {
		return err
	}
	if ok, err := netutil.LinkExists(name); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("network %q: an interface of that name already exists on the host: %w", name, api.ErrAlreadyExists)
	}
	return nil
}

// Get returns a network in its wire form.
func (m *Manager) Get(ctx context.Context, name string) (api.Network, error) {
	n, err := m.o.DB.GetNetwork(ctx, name)
	if err != nil {
		return api.Network{}, err
	}
	users, err := m.usedBy(ctx, name)
	if err != nil {
		return api.Network{}, err
	}
	return api.Network{
		NetworkPut: api.NetworkPut{Config: n.Config, Description: n.Description},
		Name:       n.Name, Type: n.Type, Managed: true, Status: n.Status, UsedBy: users, Locations: []string{},
	}, nil
}

// List returns every managed network.
func (m *Manager) List(ctx context.Context) ([]api.Network, error) {
	list, err := m.o.DB.ListNetworks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.Network, 0, len(list))
	for _, n := range list {
		an, err := m.Get(ctx, n.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, an)
	}
	return out, nil
}

// State reports the bridge's live state.
func (m *Manager) State(ctx context.Context, name string) (api.NetworkState, error) {
	if _, err := m.o.DB.GetNetwork(ctx, name); err != nil {
		return api.NetworkState{}, err
	}
	it, err := netutil.HostIface(name)
	if err != nil {
		return api.NetworkState{}, fmt.Errorf("network %q: bridge missing: %v: %w", name, err, api.ErrNotFound)
	}
	st := api.NetworkState{Hwaddr: it.Hwaddr, Mtu: it.MTU, State: it.State, Type: it.Type, Addresses: []api.NetworkStateAddress{},
		Counters: api.NetworkStateCounters{BytesReceived: it.RxBytes, BytesSent: it.TxBytes, PacketsReceived: it.RxPackets, PacketsSent: it.TxPackets}}
	for _, a := range it.Addrs {
		st.Addresses = append(st.Addresses, api.NetworkStateAddress{Family: a.Family, Address: a.Addr.String(), Netmask: fmt.Sprint(a.Bits), Scope: a.Scope})
	}
	return st, nil
}

// usedBy lists the API paths of the profiles and instances with a nic on the network.
func (m *Manager) usedBy(ctx context.Context, name string) ([]string, error) {
	out := []string{}
	pnames, err := m.o.DB.ListProfileNames(ctx)
	if err != nil {
		return nil, err
	}
	profs, err := m.o.DB.GetProfiles(ctx, pnames)
	if err != nil {
		return nil, err
	}
	byName := map[string]db.Profile{}
	for _, p := range profs {
		byName[p.Name] = p
		if usesNetwork(p.Devices, name) {
			out = append(out, "/1.0/profiles/"+p.Name)
		}
	}
	insts, err := m.o.DB.ListInstances(ctx)
	if err != nil {
		return nil, err
	}
	for _, inst := range insts {
		layers := []profiles.Layer{}
		for _, p := range inst.Profiles {
			layers = append(layers, profiles.Layer{Devices: byName[p].Devices})
		}
		layers = append(layers, profiles.Layer{Devices: inst.Devices})
		_, devs := profiles.Expand(layers...)
		if usesNetwork(devs, name) {
			out = append(out, "/1.0/instances/"+inst.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

func usesNetwork(devs map[string]map[string]string, name string) bool {
	for _, d := range devs {
		if d["type"] == "nic" && (d["network"] == name || (d["network"] == "" && d["parent"] == name)) {
			return true
		}
	}
	return false
}
