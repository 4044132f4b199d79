package network

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"lite/client/api"
	"lite/db"
)

// Attachment is what a nic on a managed network needs to know of it.
type Attachment struct {
	Bridge string
	MTU    int
	Subnet netip.Prefix // the gateway's address and prefix; invalid with ipv4.address=none
	Domain string
}

// Attach describes the managed network a nic joins.
func (m *Manager) Attach(ctx context.Context, name string) (Attachment, error) {
	n, err := m.o.DB.GetNetwork(ctx, name)
	if err != nil {
		return Attachment{}, err
	}
	if err := m.ensureLocal(ctx, n); err != nil {
		return Attachment{}, err
	}
	s := m.settings(n)
	return Attachment{Bridge: n.Name, MTU: s.MTU, Subnet: s.Gateway, Domain: s.Domain}, nil
}

// CheckAddress validates a nic's fixed ipv4.address on a network: inside the subnet, not the
// gateway or the subnet's own or broadcast address, not fixed for or leased to another
// instance. inst is the instance asking (its own entries do not count).
func (m *Manager) CheckAddress(ctx context.Context, network, inst, addr string) error {
	at, err := m.Attach(ctx, network)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || !ip.Is4() {
		return fmt.Errorf("ipv4.address %q is not an IPv4 address: %w", addr, api.ErrInvalid)
	}
	gw := at.Subnet
	if !gw.IsValid() {
		return fmt.Errorf("network %q has no IPv4 subnet (ipv4.address=none): %w", network, api.ErrInvalid)
	}
	switch {
	case !gw.Contains(ip):
		return fmt.Errorf("ipv4.address %s is outside network %s's subnet %s: %w", ip, network, gw.Masked(), api.ErrInvalid)
	case ip == gw.Addr():
		return fmt.Errorf("ipv4.address %s is network %s's gateway: %w", ip, network, api.ErrInvalid)
	case ip == gw.Masked().Addr() || ip == lastAddr(gw):
		return fmt.Errorf("ipv4.address %s is the subnet's network or broadcast address: %w", ip, api.ErrInvalid)
	}
	owner, err := m.addressOwner(ctx, network, inst, ip)
	if err != nil {
		return err
	}
	if owner != "" {
		return fmt.Errorf("ipv4.address %s on network %s is already taken by %s: %w", ip, network, owner, api.ErrConflict)
	}
	return nil
}

// addressOwner names another instance that has ip fixed, reserved or leased on the network.
func (m *Manager) addressOwner(ctx context.Context, network, inst string, ip netip.Addr) (string, error) {
	used, err := m.usedAddresses(ctx, network, inst, "")
	if err != nil {
		return "", err
	}
	return used[ip], nil
}

// usedAddresses maps every address of a network that is not inst's (nor mac's, when given) to
// its holder: fixed ipv4.address of other instances, reservations in the dhcp-hosts file and
// leases.
func (m *Manager) usedAddresses(ctx context.Context, network, inst, mac string) (map[netip.Addr]string, error) {
	used := map[netip.Addr]string{}
	addrs, err := m.nicAddrs(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs[network] {
		if a.Inst != inst {
			used[a.IP] = "instance " + a.Inst
		}
	}
	mine, err := m.macsOf(ctx, inst)
	if err != nil {
		return nil, err
	}
	if mac != "" {
		mine[strings.ToLower(mac)] = true
	}
	f := m.files(network)
	hosts, err := readHosts(f.hosts())
	if err != nil {
		return nil, err
	}
	for _, h := range hosts {
		if h.IP.IsValid() && !mine[h.MAC] && used[h.IP] == "" {
			used[h.IP] = fmt.Sprintf("a DHCP reservation (%s, %s)", h.Name, h.MAC)
		}
	}
	leases, err := readLeases(f.leases())
	if err != nil {
		return nil, err
	}
	for _, l := range leases {
		if !mine[l.MAC] && used[l.IP] == "" {
			used[l.IP] = fmt.Sprintf("a DHCP lease (%s, %s)", l.Name, l.MAC)
		}
	}
	return used, nil
}

// Reserve gives a nic without a fixed address one address of the network's DHCP ranges for
// good (until Release): the one it already has reserved or leased, else the first free one. It
// is written to the dhcp-hosts file like a fixed address, so the nic's IPv4 filter knows what
// the nic may send from before dnsmasq hands it out. On a network that hands out no address
// (ipv4.address=none, ipv4.dhcp=false) the nic is only named and the address is invalid.
func (m *Manager) Reserve(ctx context.Context, network string, h Host) (netip.Addr, error) {
	n, err := m.o.DB.GetNetwork(ctx, network)
	if err != nil {
		return netip.Addr{}, err
	}
	s := m.settings(n)
	if !s.Gateway.IsValid() || !s.DHCP {
		// Nothing to hand out: the nic is only named (and its address is not filtered).
		return netip.Addr{}, m.SetHost(ctx, network, h)
	}
	m.hosts.Lock()
	defer m.hosts.Unlock()
	h.MAC = strings.ToLower(h.MAC)
	f := m.files(network)
	hosts, err := readHosts(f.hosts())
	if err != nil {
		return netip.Addr{}, err
	}
	used, err := m.usedAddresses(ctx, network, h.Name, h.MAC)
	if err != nil {
		return netip.Addr{}, err
	}
	free := func(ip netip.Addr) bool {
		return ip.IsValid() && s.Gateway.Contains(ip) && ip != s.Gateway.Addr() && used[ip] == ""
	}
	switch old := hosts[h.MAC]; {
	case free(old.IP):
		h.IP = old.IP
	case free(m.LeaseIP(network, h.MAC)):
		h.IP = m.LeaseIP(network, h.MAC)
	default:
		h.IP = firstFree(s, free)
	}
	if !h.IP.IsValid() {
		where := "its DHCP ranges"
		if s.Cluster {
			where = "this member's slice of its DHCP ranges"
		}
		return netip.Addr{}, fmt.Errorf("network %q has no free address left in %s: delete an instance on it, or widen ipv4.dhcp.ranges or the subnet: %w", network, where, api.ErrConflict)
	}
	if err := m.setHostLocked(network, hosts, h); err != nil {
		return netip.Addr{}, err
	}
	return h.IP, nil
}

// firstFree returns the first address of the network's DHCP ranges that free accepts.
func firstFree(s Settings, free func(netip.Addr) bool) netip.Addr {
	for _, r := range s.Ranges {
		for ip := r.Start; ip.IsValid() && ip.Compare(r.End) <= 0; ip = ip.Next() {
			if free(ip) {
				return ip
			}
		}
	}
	return netip.Addr{}
}

// macsOf returns the MACs lited gave an instance's nics (volatile.*.hwaddr).
func (m *Manager) macsOf(ctx context.Context, inst string) (map[string]bool, error) {
	out := map[string]bool{}
	i, err := m.o.DB.GetInstance(ctx, inst)
	if err != nil {
		if db.IsNotFound(err) {
			return out, nil
		}
		return nil, err
	}
	for k, v := range i.Config {
		if strings.HasPrefix(k, "volatile.") && strings.HasSuffix(k, ".hwaddr") {
			out[strings.ToLower(v)] = true
		}
	}
	return out, nil
}

// SetHost records a nic's MAC, name and fixed address (if any) in the network's dhcp-hosts
// file and makes dnsmasq re-read it (SIGHUP: no restart).
func (m *Manager) SetHost(ctx context.Context, network string, h Host) error {
	m.hosts.Lock()
	defer m.hosts.Unlock()
	hosts, err := readHosts(m.files(network).hosts())
	if err != nil {
		return err
	}
	return m.setHostLocked(network, hosts, h)
}

// setHostLocked writes h into hosts (the file's content) and the file; m.hosts is held.
func (m *Manager) setHostLocked(network string, hosts map[string]Host, h Host) error {
	h.MAC = strings.ToLower(h.MAC)
	if old, ok := hosts[h.MAC]; ok && old == h {
		return nil
	}
	hosts[h.MAC] = h
	if err := writeHosts(m.files(network).hosts(), hosts); err != nil {
		return err
	}
	return m.reload(network)
}

func (m *Manager) reload(network string) error {
	m.mu.Lock()
	p := m.procs[network]
	m.mu.Unlock()
	if p == nil {
		return nil // no dnsmasq (ipv4.address=none): nothing to tell
	}
	return p.reload()
}

// Release forgets a nic: its dhcp-hosts entry, and its lease, so the address and the DNS
// name are free at once. Dropping a lease needs dnsmasq stopped for a moment; that happens
// on delete only, never on launch.
func (m *Manager) Release(ctx context.Context, network, mac string) error {
	mac = strings.ToLower(mac)
	leased, err := m.forgetHost(network, mac)
	if err != nil {
		return err
	}
	if !leased {
		return m.reload(network)
	}
	return m.dropLease(network, mac)
}

// forgetHost removes mac from the network's dhcp-hosts file and tells whether dnsmasq holds
// a lease for it.
func (m *Manager) forgetHost(network, mac string) (leased bool, err error) {
	m.hosts.Lock()
	defer m.hosts.Unlock()
	f := m.files(network)
	hosts, err := readHosts(f.hosts())
	if err != nil {
		return false, err
	}
	if _, ok := hosts[mac]; ok {
		delete(hosts, mac)
		if err := writeHosts(f.hosts(), hosts); err != nil {
			return false, err
		}
	}
	leases, err := readLeases(f.leases())
	if err != nil {
		return false, err
	}
	for _, l := range leases {
		leased = leased || l.MAC == mac
	}
	return leased, nil
}

// leaseDrop is the leases one restart of a network's dnsmasq drops. Releases that overlap
// share it: a restart takes ~0.2 s, and one per nic made the deletes of a lab's 30 nodes
// wait for each other (8 at a time deleted no faster than one).
type leaseDrop struct {
	macs map[string]bool
	done chan struct{}
	err  error
}

// dropLease drops mac's lease with the next restart of the network's dnsmasq and returns
// once that restart is done.
func (m *Manager) dropLease(network, mac string) error {
	m.dropMu.Lock()
	d := m.drops[network]
	if d == nil {
		d = &leaseDrop{macs: map[string]bool{}, done: make(chan struct{})}
		if m.drops == nil {
			m.drops = map[string]*leaseDrop{}
		}
		m.drops[network] = d
		go m.runDrop(network, d)
	}
	d.macs[mac] = true
	m.dropMu.Unlock()
	<-d.done
	return d.err
}

// runDrop restarts the network's dnsmasq once for every lease of d. It waits for a restart
// in progress (m.mu); releases that come meanwhile join d.
func (m *Manager) runDrop(network string, d *leaseDrop) {
	defer close(d.done)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropMu.Lock()
	delete(m.drops, network) // d is closed: the next release starts another drop
	m.dropMu.Unlock()
	p := m.procs[network]
	if p == nil {
		return
	}
	d.err = p.restart(func() error {
		_, err := dropLeases(m.files(network).leases(), d.macs)
		return err
	})
}

// LeaseIP returns the address dnsmasq leased to mac on a network (invalid: none).
func (m *Manager) LeaseIP(network, mac string) netip.Addr {
	leases, err := readLeases(m.files(network).leases())
	if err != nil {
		return netip.Addr{}
	}
	for _, l := range leases {
		if l.MAC == strings.ToLower(mac) {
			return l.IP
		}
	}
	return netip.Addr{}
}

func errorsIsNotFound(err error) bool { return db.IsNotFound(err) }

// Leases lists a network's reservations (static) and the leases dnsmasq handed out (dynamic).
func (m *Manager) Leases(ctx context.Context, network string) ([]api.NetworkLease, error) {
	if _, err := m.o.DB.GetNetwork(ctx, network); err != nil {
		return nil, err
	}
	f := m.files(network)
	hosts, err := readHosts(f.hosts())
	if err != nil {
		return nil, err
	}
	leases, err := readLeases(f.leases())
	if err != nil {
		return nil, err
	}
	out := []api.NetworkLease{}
	static := map[string]bool{}
	loc := "none"
	if v := m.view.Load(); v != nil {
		loc = v.local.Name // this member's dnsmasq's leases (as LXD names the member)
	}
	for _, h := range hosts {
		if h.IP.IsValid() {
			static[h.MAC] = true
			out = append(out, api.NetworkLease{Hostname: h.Name, Hwaddr: h.MAC, Address: h.IP.String(), Type: "static", Location: loc})
		}
	}
	for _, l := range leases {
		if h, ok := hosts[l.MAC]; ok && static[l.MAC] && h.IP == l.IP {
			continue // the reservation is already listed
		}
		out = append(out, api.NetworkLease{Hostname: l.Name, Hwaddr: l.MAC, Address: l.IP.String(), Type: "dynamic", Location: loc})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hostname+out[i].Address < out[j].Hostname+out[j].Address })
	return out, nil
}
