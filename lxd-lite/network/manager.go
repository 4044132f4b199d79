package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/atomicfile"
	"lite/lxd-lite/netutil"
)

// Options wire a Manager.
type Options struct {
	DB       *db.DB
	Dir      string // $LITE_DIR/networks
	Firewall *Firewall
	Log      *slog.Logger
	// DefaultNAT is ipv4.nat for a network created with an automatic subnet and no ipv4.nat.
	DefaultNAT bool
	// Cluster makes the networks cluster networks (see SetCluster); nil: a single host.
	Cluster Cluster
}

// Manager runs every managed network. One lock serialises changes of networks; DHCP host
// entries have their own, so launches never wait for a network change.
type Manager struct {
	o     Options
	mu    sync.Mutex
	procs map[string]*dnsmasq
	// applied records, per network brought up, the row it was brought up from (see
	// syncRows): a member follows the networks other members create, change and delete.
	applied map[string]string
	hosts   sync.Mutex
	// drops gathers, per network, the leases the next restart of its dnsmasq drops (hosts.go).
	dropMu sync.Mutex
	drops  map[string]*leaseDrop
	// view is the cluster as this member sees it; nil on a single host.
	view atomic.Pointer[clusterView]
	sync clusterSync
}

// New returns a manager; call Restore before use.
func New(o Options) *Manager {
	return &Manager{o: o, procs: map[string]*dnsmasq{}, applied: map[string]string{}}
}

func (m *Manager) files(name string) files { return files{dir: filepath.Join(m.o.Dir, name)} }

// Restore brings every network of the database up after lited starts: bridges that exist
// are adopted (address and MTU corrected), missing ones made again; a dnsmasq still running
// from before is adopted, a dead one restarted; the nft table is rebuilt whole.
func (m *Manager) Restore(ctx context.Context) error {
	if err := os.MkdirAll(m.o.Dir, 0o711); err != nil {
		return fmt.Errorf("create %s: %w", m.o.Dir, err)
	}
	if m.o.Cluster != nil {
		// Read the members first, so the networks come back as they were (tunnel, slice, MTU)
		// rather than as a single host's and then again as a member's.
		if err := m.SetCluster(ctx, m.o.Cluster); err != nil {
			m.o.Log.Warn("cluster networks: members not known yet; a later sync retries", "err", err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	list, err := m.o.DB.ListNetworks(ctx)
	if err != nil {
		return err
	}
	for _, n := range list {
		if _, err := m.up(n, false); err != nil {
			m.o.Log.Error("restore network", "network", n.Name, "err", err)
		}
	}
	return m.applyFirewall(ctx)
}

// Detach stops supervising dnsmasq (lited is exiting); bridges and dnsmasq keep serving.
func (m *Manager) Detach() {
	m.stopSync()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.procs {
		p.detach()
	}
}

// up makes a network's host side match its row: bridge, address, MTU, link up, dnsmasq.
// restart forces a fresh dnsmasq (its config changed). createdBridge says whether the bridge
// was made now.
func (m *Manager) up(n db.Network, restart bool) (createdBridge bool, err error) {
	created, err := m.upHost(n, restart)
	if err == nil {
		m.applied[n.Name] = rowKey(n)
	}
	return created, err
}

func (m *Manager) upHost(n db.Network, restart bool) (createdBridge bool, err error) {
	s := m.settings(n)
	created, err := netutil.EnsureBridge(n.Name, s.MTU)
	if err != nil {
		return false, err
	}
	fail := func(err error) (bool, error) {
		if created {
			_ = netutil.DeleteLink(n.Name)
			_ = netutil.DeleteLink(TunnelName(n.Name))
		}
		return false, err
	}
	if err := m.upTunnel(n, s); err != nil {
		return fail(err)
	}
	var want []netip.Prefix
	if s.Gateway.IsValid() {
		want = append(want, s.Gateway)
	}
	if err := netutil.SetAddrs(n.Name, want); err != nil {
		return fail(err)
	}
	if err := netutil.SetUp(n.Name); err != nil {
		return fail(err)
	}
	f := m.files(n.Name)
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return fail(fmt.Errorf("create %s: %w", f.dir, err))
	}
	p := m.procs[n.Name]
	if p == nil {
		p = &dnsmasq{name: n.Name, files: f, log: m.o.Log}
	}
	if !s.Gateway.IsValid() {
		// No address, nothing to serve: a plain bridge.
		if err := p.stop(); err != nil {
			return fail(err)
		}
		delete(m.procs, n.Name)
		return created, nil
	}
	conf, err := renderConf(n.Name, s, f)
	if err != nil {
		return fail(err)
	}
	old, _ := os.ReadFile(f.conf())
	if string(old) != conf {
		restart = true
		if err := writeGenerated(f.conf(), []byte(conf)); err != nil {
			return fail(err)
		}
	}
	if s.Cluster {
		if err := ensurePeerHosts(f); err != nil {
			return fail(err)
		}
	}
	if _, err := os.Stat(f.hosts()); errors.Is(err, os.ErrNotExist) {
		if err := atomicfile.WriteFile(f.hosts(), nil, 0o644); err != nil {
			return fail(err)
		}
	}
	if created {
		// A dnsmasq left from before is bound to the bridge that vanished.
		restart = true
	}
	if m.procs[n.Name] != nil {
		p.detach()
	}
	if restart {
		if err := p.restart(func() error { return nil }); err != nil {
			return fail(err)
		}
	} else if err := p.startOrAdopt(); err != nil {
		return fail(err)
	}
	p.supervise()
	m.procs[n.Name] = p
	return created, nil
}

// down removes a network's host side: dnsmasq, bridge and files.
func (m *Manager) down(name string) error {
	delete(m.applied, name)
	p := m.procs[name]
	if p == nil {
		p = &dnsmasq{name: name, files: m.files(name), log: m.o.Log}
	}
	if err := p.stop(); err != nil {
		return err
	}
	delete(m.procs, name)
	if err := netutil.DeleteLink(TunnelName(name)); err != nil {
		return err
	}
	if err := netutil.DeleteLink(name); err != nil {
		return err
	}
	if err := os.RemoveAll(m.files(name).dir); err != nil {
		return fmt.Errorf("remove files of network %s: %w", name, err)
	}
	return nil
}

// applyFirewall rebuilds lite's nft table from the database.
func (m *Manager) applyFirewall(ctx context.Context) error {
	list, err := m.o.DB.ListNetworks(ctx)
	if err != nil {
		return err
	}
	nets := make([]FirewallNet, 0, len(list))
	for _, n := range list {
		s := m.settings(n)
		t, err := m.tunnelOf(n, s)
		if err != nil {
			return err
		}
		nets = append(nets, FirewallNet{Bridge: n.Name, Subnet: s.Gateway, NAT: s.NAT, Tunnel: t})
	}
	return m.o.Firewall.Apply(ctx, nets)
}

// checkSubnet refuses a subnet that overlaps the host's addresses and routes (but those of
// the network's own bridge) or another lite network.
func (m *Manager) checkSubnet(ctx context.Context, name string, gw netip.Prefix) error {
	what, err := m.overlap(ctx, name, gw.Masked())
	if err != nil {
		return err
	}
	if what != "" {
		return fmt.Errorf("subnet %s of network %q overlaps %s: %w", gw.Masked(), name, what, api.ErrConflict)
	}
	return nil
}

func (m *Manager) overlap(ctx context.Context, self string, p netip.Prefix) (string, error) {
	list, err := m.o.DB.ListNetworks(ctx)
	if err != nil {
		return "", err
	}
	for _, n := range list {
		if n.Name == self {
			continue
		}
		if gw := SettingsOf(n.Config).Gateway; gw.IsValid() && gw.Masked().Overlaps(p) {
			return fmt.Sprintf("network %s (%s)", n.Name, gw.Masked()), nil
		}
	}
	return netutil.Overlap(p, self)
}

// resolveAuto turns ipv4.address=auto (or unset) into a free subnet's gateway.
func (m *Manager) resolveAuto(ctx context.Context, name string, cfg map[string]string) error {
	if v := cfg["ipv4.address"]; v != "" && v != "auto" {
		return nil
	}
	gw, err := PickSubnet(func(p netip.Prefix) (string, error) { return m.overlap(ctx, name, p) },
		rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
	if err != nil {
		return err
	}
	cfg["ipv4.address"] = gw.String()
	if cfg["ipv4.nat"] == "" {
		cfg["ipv4.nat"] = fmt.Sprint(m.o.DefaultNAT)
	}
	return nil
}
