package network

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"lite/db"
	"lite/lxd-lite/atomicfile"
	"lite/profiles"
)

// syncEvery is how often a member re-reads the members, the network rows and the cluster's
// instances even when nothing told it to: the DNS names of instances started on other members
// reach this member's dnsmasq within this time. Each sync reads every instance from the shared
// database (a few queries per instance), which is what keeps it from being more frequent.
const syncEvery = 5 * time.Second

// clusterSync runs the loop that keeps tunnels, DHCP slices and DNS names in step with the
// cluster.
type clusterSync struct {
	mu      sync.Mutex
	cluster Cluster
	kick    chan struct{}
	quit    chan struct{}
	done    chan struct{}
}

// SetCluster makes the networks cluster networks: each member's bridge joins the others'
// through a VXLAN tunnel, its dnsmasq serves its slice of the range and answers for every
// instance of the cluster. It runs a first sync now and then follows the cluster (OnChange,
// and every few seconds). A nil cluster or an empty LocalName is a single host.
func (m *Manager) SetCluster(ctx context.Context, c Cluster) error {
	m.sync.mu.Lock()
	first := m.sync.cluster == nil
	m.sync.cluster = c
	if m.sync.quit == nil && c != nil {
		m.sync.kick = make(chan struct{}, 1)
		m.sync.quit, m.sync.done = make(chan struct{}), make(chan struct{})
		go m.syncLoop(m.sync.kick, m.sync.quit, m.sync.done)
	}
	m.sync.mu.Unlock()
	if c != nil && first {
		c.OnChange(m.kickSync)
	}
	return m.Resync(ctx)
}

func (m *Manager) clusterOf() Cluster {
	m.sync.mu.Lock()
	defer m.sync.mu.Unlock()
	return m.sync.cluster
}

// kickSync asks the loop for a sync soon (a member joined, left or changed).
func (m *Manager) kickSync() {
	m.sync.mu.Lock()
	defer m.sync.mu.Unlock()
	if m.sync.kick == nil {
		return
	}
	select {
	case m.sync.kick <- struct{}{}:
	default: // one is pending already
	}
}

func (m *Manager) syncLoop(kick, quit, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(syncEvery)
	defer t.Stop()
	// A sync in progress ends when lited exits: without a database quorum it would wait
	// its whole bound, and lited's exit with it.
	base, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		select {
		case <-quit:
			stop()
		case <-base.Done():
		}
	}()
	for {
		select {
		case <-quit:
			return
		case <-kick:
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(base, 30*time.Second)
		if err := m.Resync(ctx); err != nil {
			m.o.Log.Warn("sync the cluster networks", "err", err)
		}
		cancel()
	}
}

// stopSync ends the loop (lited is exiting); tunnels and dnsmasq keep serving.
func (m *Manager) stopSync() {
	m.sync.mu.Lock()
	quit, done := m.sync.quit, m.sync.done
	m.sync.quit, m.sync.kick = nil, nil
	m.sync.mu.Unlock()
	if quit != nil {
		close(quit)
		<-done
	}
}

// Resync reads the members; when the view changed (a member joined or left, this host became
// a member) every network is brought in line: tunnel remotes, DHCP slice, MTU, firewall. In a
// cluster, the DNS names of the other members' instances are refreshed too.
func (m *Manager) Resync(ctx context.Context) error {
	c := m.clusterOf()
	var v *clusterView
	if c != nil && c.LocalName() != "" {
		members, err := c.Members(ctx)
		if err != nil {
			return fmt.Errorf("cluster members: %w", err)
		}
		if v, err = viewOf(c.LocalName(), members); err != nil {
			return err
		}
	}
	if !v.equal(m.view.Load()) {
		if err := m.applyView(ctx, v); err != nil {
			return err
		}
	}
	if v == nil {
		return nil
	}
	if err := m.syncRows(ctx); err != nil {
		return err
	}
	return m.refreshPeerHosts(ctx)
}

// rowKey identifies what a network was brought up from: its id and config.
func rowKey(n db.Network) string {
	b, err := json.Marshal(n.Config) // map keys sorted: the same config, the same key
	if err != nil {
		return fmt.Sprint(n.ID, n.Config)
	}
	return fmt.Sprint(n.ID, string(b))
}

// ensureLocal brings a network another member created or changed up here now, when this
// member has not followed it yet: an instance started here must find its bridge, whenever
// the next sync would come.
func (m *Manager) ensureLocal(ctx context.Context, n db.Network) error {
	if m.view.Load() == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.applied[n.Name] == rowKey(n) {
		return nil
	}
	if _, err := m.up(n, false); err != nil {
		return fmt.Errorf("bring network %s up on this member: %w", n.Name, err)
	}
	return m.applyFirewall(ctx)
}

// syncRows brings this member's host side in line with the shared network rows: a network
// another member created (or renamed to) comes up here, one it changed is brought up again,
// one it deleted (or renamed away) goes.
func (m *Manager) syncRows(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	list, err := m.o.DB.ListNetworks(ctx)
	if err != nil {
		return err
	}
	changed := false
	var first error
	inDB := map[string]bool{}
	for _, n := range list {
		inDB[n.Name] = true
		if m.applied[n.Name] == rowKey(n) {
			continue
		}
		changed = true
		if _, err := m.up(n, false); err != nil {
			first = firstErr(first, fmt.Errorf("network %s: %w", n.Name, err))
		}
	}
	for name := range m.applied {
		if inDB[name] {
			continue
		}
		changed = true
		if err := m.down(name); err != nil {
			first = firstErr(first, fmt.Errorf("network %s: %w", name, err))
		}
	}
	if changed {
		first = firstErr(first, m.applyFirewall(ctx))
	}
	return first
}

// applyView stores the new view and brings every network's host side in line with it.
func (m *Manager) applyView(ctx context.Context, v *clusterView) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.view.Store(v)
	if v == nil {
		m.o.Log.Info("networks: single host, no tunnels")
	} else {
		m.o.Log.Info("networks: cluster member", "member", v.local.Name, "address", v.local.Address,
			"peers", len(v.others), "dhcp_slice", fmt.Sprintf("%d of %d", v.index+1, v.count))
	}
	list, err := m.o.DB.ListNetworks(ctx)
	if err != nil {
		return err
	}
	var first error
	for _, n := range list {
		if _, err := m.up(n, false); err != nil {
			m.o.Log.Error("bring network in line with the cluster", "network", n.Name, "err", err)
			first = firstErr(first, fmt.Errorf("network %s: %w", n.Name, err))
		}
	}
	return firstErr(first, m.applyFirewall(ctx))
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// nicAddr is one nic address the database knows: a fixed ipv4.address, or the one lited
// reserved for the nic (volatile.<dev>.ipv4.address) on whichever member it runs.
type nicAddr struct {
	Inst string
	IP   netip.Addr
}

// nicAddrs maps each network to the addresses of the instances' nics on it, from the database
// (shared by the members of a cluster). Each profile is read once.
func (m *Manager) nicAddrs(ctx context.Context) (map[string][]nicAddr, error) {
	insts, err := m.o.DB.ListInstances(ctx)
	if err != nil {
		return nil, err
	}
	profs := map[string]profiles.Layer{}
	out := map[string][]nicAddr{}
	for _, i := range insts {
		layers := []profiles.Layer{}
		for _, name := range i.Profiles {
			l, ok := profs[name]
			if !ok {
				p, err := m.o.DB.GetProfile(ctx, name)
				if err != nil {
					return nil, err
				}
				l = profiles.Layer{Devices: p.Devices}
				profs[name] = l
			}
			layers = append(layers, l)
		}
		_, devs := profiles.Expand(append(layers, profiles.Layer{Devices: i.Devices})...)
		for name, d := range devs {
			if d["type"] != "nic" || d["network"] == "" {
				continue
			}
			a := d["ipv4.address"]
			if a == "" {
				a = i.Config[ReservedKey(name)]
			}
			if ip, err := netip.ParseAddr(a); err == nil && ip.Is4() {
				out[d["network"]] = append(out[d["network"]], nicAddr{Inst: i.Name, IP: ip})
			}
		}
	}
	return out, nil
}

// ReservedKey is the instance config key that records the address lited reserved for a nic,
// so every member of a cluster knows it (for its checks and its DNS).
func ReservedKey(dev string) string { return "volatile." + dev + ".ipv4.address" }

// refreshPeerHosts writes, for each network, the names of the instances this member's dnsmasq
// does not serve itself (those of the other members) into its addn-hosts file, and makes
// dnsmasq re-read it when it changed.
func (m *Manager) refreshPeerHosts(ctx context.Context) error {
	list, err := m.o.DB.ListNetworks(ctx)
	if err != nil {
		return err
	}
	addrs, err := m.nicAddrs(ctx)
	if err != nil {
		return err
	}
	for _, n := range list {
		s := m.settings(n)
		if !s.Gateway.IsValid() {
			continue
		}
		if err := m.refreshNetworkPeerHosts(n.Name, s, addrs[n.Name]); err != nil {
			return fmt.Errorf("network %s: DNS names of the cluster: %w", n.Name, err)
		}
	}
	return nil
}

func (m *Manager) refreshNetworkPeerHosts(network string, s Settings, addrs []nicAddr) error {
	m.hosts.Lock()
	defer m.hosts.Unlock()
	f := m.files(network)
	local, err := readHosts(f.hosts())
	if err != nil {
		return err
	}
	mine := map[string]bool{}
	for _, h := range local {
		mine[h.Name] = true
	}
	var peers []nicAddr
	for _, a := range addrs {
		if !mine[a.Inst] && s.Gateway.Contains(a.IP) {
			peers = append(peers, a)
		}
	}
	data, err := renderPeerHosts(peers, s.Domain)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(f.peerHosts()); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := writeGenerated(f.peerHosts(), data); err != nil {
		return err
	}
	return m.reload(network)
}

// renderPeerHosts renders an addn-hosts file: "IP NAME.DOMAIN NAME" per nic, sorted.
func renderPeerHosts(list []nicAddr, domain string) ([]byte, error) {
	for i := range list {
		list[i].Inst = strings.ToLower(list[i].Inst) // DNS names are case-insensitive
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Inst != list[j].Inst {
			return list[i].Inst < list[j].Inst
		}
		return list[i].IP.Less(list[j].IP)
	})
	var b bytes.Buffer
	for _, a := range list {
		if !labelRe.MatchString(a.Inst) {
			continue // not a DNS label: no record (and nothing that could break the line)
		}
		fmt.Fprintf(&b, "%s %s.%s %s\n", a.IP, a.Inst, domain, a.Inst)
	}
	return b.Bytes(), nil
}

// ensurePeerHosts makes sure the addn-hosts file exists before dnsmasq starts.
func ensurePeerHosts(f files) error {
	if _, err := os.Stat(f.peerHosts()); err == nil {
		return nil
	}
	return atomicfile.WriteFile(f.peerHosts(), nil, 0o644)
}
