package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"lite/client/api"
	"lite/lxd-lite/network"
	labfile "lite/profiles/lab"
)

// HostsFile keeps a marked block of a hosts file (/etc/hosts) in step with the lab nodes'
// addresses, so the host resolves <node>.<domain>. Each lited marks its block with its own
// state dir, so several daemons on one host never clobber each other's names.
type HostsFile struct {
	Path string
	// Marker is unique per daemon, e.g. the state dir.
	Marker string
	// Lock is the lock file every lited shares ("" = /run/lite-hosts.lock).
	Lock string
}

// lockPath serializes every lited's edits of the hosts file.
const lockPath = "/run/lite-hosts.lock"

func (h *HostsFile) begin() string {
	return "# BEGIN lite " + h.Marker + " (managed by lited: do not edit)"
}
func (h *HostsFile) end() string { return "# END lite " + h.Marker }

// Set replaces the block with entries (lines "address name"); no entries removes it.
func (h *HostsFile) Set(entries []string) error {
	lp := h.Lock
	if lp == "" {
		lp = lockPath
	}
	lock, err := os.OpenFile(lp, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("hosts lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("hosts lock: %w", err)
	}
	old, err := os.ReadFile(h.Path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", h.Path, err)
	}
	var kept []string
	in := false
	for _, line := range strings.Split(strings.TrimRight(string(old), "\n"), "\n") {
		switch {
		case line == h.begin():
			in = true
		case line == h.end():
			in = false
		case !in && (line != "" || len(kept) > 0):
			kept = append(kept, line)
		}
	}
	if len(entries) > 0 {
		kept = append(append(append(kept, h.begin()), entries...), h.end())
	}
	data := []byte(strings.Join(kept, "\n") + "\n")
	missing := errors.Is(err, os.ErrNotExist)
	if string(data) == string(old) || missing && len(entries) == 0 {
		return nil
	}
	// Written beside and renamed over, so a resolver never reads half a file; a hosts file
	// that is a mount point (containers) cannot be renamed over and is rewritten in place.
	// A symlinked hosts file keeps its link: the file it points at is the one replaced.
	target := h.Path
	if !missing { // a missing file (LITE_HOSTS_FILE naming a new one) is made
		if target, err = filepath.EvalSymlinks(h.Path); err != nil {
			return fmt.Errorf("resolve %s: %w", h.Path, err)
		}
	}
	tmp := filepath.Join(filepath.Dir(target), ".lite-hosts.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, target); err != nil {
		_ = os.Remove(tmp)
		if err := os.WriteFile(target, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", target, err)
		}
	}
	return nil
}

// hostEntries lists "address node.domain" for each nic of each running lab node, the domain
// being its network's.
func hostEntries(l *labfile.Lab, live api.Lab) []string {
	var out []string
	for _, n := range live.Nodes {
		node := l.Node(n.Name)
		if node == nil {
			continue
		}
		for _, nic := range node.NICs {
			a := trustedAddr(l.Network(nic.Network), nic, n.Addresses[nic.Name])
			if a == "" {
				continue
			}
			domain := l.Network(nic.Network).Domain
			if domain == "" {
				domain = network.DefaultDomain
			}
			out = append(out, a+" "+n.Name+"."+domain)
		}
	}
	return out
}

// syncHosts rewrites the hosts block from every lab's live state.
func (s *Service) syncHosts(ctx context.Context) error {
	if s.Hosts == nil {
		return nil
	}
	recs, err := s.DB.ListLabs(ctx)
	if err != nil {
		return err
	}
	nets, err := s.Networks.List(ctx)
	if err != nil {
		return err
	}
	subnet := map[string]string{}
	for _, n := range nets {
		subnet[n.Name] = n.Config["ipv4.address"]
	}
	var entries []string
	for _, rec := range recs {
		// One lab that no longer parses (or answers) must not break every other lab's names.
		l, err := labfile.Parse(rec.Filename, []byte(rec.Source), "")
		if err != nil {
			s.Log.Warn("host names: skip a lab whose file does not parse", "lab", rec.Name, "err", err)
			continue
		}
		// ipv4: auto networks got their subnet when they were made.
		for i := range l.Networks {
			if got := subnet[NetworkName(l.Name, l.Networks[i].Name)]; got != "" {
				l.Networks[i].IPv4 = got
			}
		}
		live, err := s.Get(ctx, rec.Name, nil)
		if err != nil {
			s.Log.Warn("host names: skip a lab whose state cannot be read", "lab", rec.Name, "err", err)
			continue
		}
		entries = append(entries, hostEntries(l, live)...)
	}
	sort.Strings(entries)
	if err := s.Hosts.Set(entries); err != nil {
		return fmt.Errorf("host names: %w", err)
	}
	return nil
}

// trustedAddr is the address a host name may point at. Root in a node can put any address on
// its interfaces, so a static nic's name uses the file's address (and only once the node
// has it), and a DHCP nic's only an address inside its network's subnet.
func trustedAddr(net *labfile.Network, nic labfile.NIC, live string) string {
	a, err := netip.ParseAddr(live)
	if err != nil {
		return ""
	}
	if nic.IPv4 != "" {
		if a.String() != nic.IPv4 {
			return ""
		}
		return nic.IPv4
	}
	p, err := netip.ParsePrefix(net.IPv4)
	if err != nil || !p.Masked().Contains(a) || a == p.Addr() {
		return ""
	}
	return a.String()
}
