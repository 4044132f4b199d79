package network

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"lite/client/api"
	"lite/lxd-lite/atomicfile"
	"lite/profiles"
)

// dnsmasqBin is Debian's dnsmasq (package dnsmasq-base).
const dnsmasqBin = "/usr/sbin/dnsmasq"

// files are the paths of one network's dnsmasq, under $LITE_DIR/networks/<name>/.
type files struct{ dir string }

func (f files) conf() string   { return filepath.Join(f.dir, "dnsmasq.conf") }
func (f files) pid() string    { return filepath.Join(f.dir, "dnsmasq.pid") }
func (f files) leases() string { return filepath.Join(f.dir, "dnsmasq.leases") }
func (f files) hosts() string  { return filepath.Join(f.dir, "dnsmasq.hosts") }
func (f files) log() string    { return filepath.Join(f.dir, "dnsmasq.log") }

// peerHosts holds the names of the instances on the other members of a cluster.
func (f files) peerHosts() string { return filepath.Join(f.dir, "peers.hosts") }

// ifindex records the bridge's interface index when dnsmasq started: a dnsmasq with
// bind-interfaces stays bound to that interface, and serves nothing once it is gone.
func (f files) ifindex() string { return filepath.Join(f.dir, "dnsmasq.ifindex") }

// renderConf writes dnsmasq's config for a bridge: DHCP and DNS bound to the bridge only,
// never port 53 elsewhere, names of the DHCP clients under the network's domain.
// A value with a control character (a newline would add a directive, dhcp-script runs a
// program as root) is refused, whatever the caller checked.
func renderConf(bridge string, s Settings, f files) (string, error) {
	var b strings.Builder
	var bad error
	line := func(format string, args ...any) {
		l := fmt.Sprintf(format, args...)
		if r, ok := profiles.ControlChar(l, ""); ok && bad == nil {
			bad = fmt.Errorf("dnsmasq config line %q: control character %U: %w", l, r, api.ErrInvalid)
		}
		b.WriteString(l + "\n")
	}
	line("# Written by lited for bridge %s; changes are lost when lited rewrites it.", bridge)
	line("strict-order")
	line("bind-interfaces")
	line("except-interface=lo")
	line("interface=%s", bridge)
	line("listen-address=%s", s.Gateway.Addr())
	line("no-hosts")
	line("no-ping")
	line("pid-file=%s", f.pid())
	line("log-facility=%s", f.log())
	if !s.NAT {
		// An isolated network has nowhere to forward queries: answer from what dnsmasq knows.
		line("no-resolv")
	}
	line("domain=%s", s.Domain)
	line("local=/%s/", s.Domain)
	if s.Cluster {
		// The instances of the other members, refreshed from the shared database.
		line("addn-hosts=%s", f.peerHosts())
	}
	if s.DHCP {
		line("dhcp-authoritative")
		line("dhcp-no-override")
		line("dhcp-rapid-commit")
		line("dhcp-leasefile=%s", f.leases())
		line("dhcp-hostsfile=%s", f.hosts())
		// A lease belongs to a nic lited registered (dhcp-hosts, by MAC): a client with any
		// other MAC (a container that changed its own, a flood of random ones) gets nothing,
		// so the pool cannot be drained.
		line("dhcp-ignore=tag:!known")
		leases := 0
		for _, r := range s.Ranges {
			line("dhcp-range=%s,%s,%s", r.Start, r.End, s.Expiry)
			leases += r.Size()
		}
		// dnsmasq hands out at most 1000 leases unless told: as many as the ranges hold.
		line("dhcp-lease-max=%d", max(leases, 1))
		line("dhcp-option=option:router,%s", s.Gateway.Addr())
		line("dhcp-option=option:dns-server,%s", s.Gateway.Addr())
		if s.MTU > 0 {
			line("dhcp-option-force=26,%d", s.MTU)
		}
	}
	if bad != nil {
		return "", bad
	}
	return b.String(), nil
}

// Host is one dhcp-hosts entry: a nic's MAC, its fixed address (optional) and its name.
type Host struct {
	MAC  string
	IP   netip.Addr // invalid: dynamic
	Name string
}

func (h Host) line() string {
	if h.IP.IsValid() {
		return fmt.Sprintf("%s,%s,%s", h.MAC, h.IP, h.Name)
	}
	return fmt.Sprintf("%s,%s", h.MAC, h.Name)
}

// readHosts parses a dhcp-hosts file written by writeHosts.
func readHosts(path string) (map[string]Host, error) {
	out := map[string]Host{}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(strings.TrimSpace(l), ",")
		switch len(f) {
		case 2:
			out[f[0]] = Host{MAC: f[0], Name: f[1]}
		case 3:
			ip, err := netip.ParseAddr(f[1])
			if err != nil {
				return nil, fmt.Errorf("%s: bad line %q", path, l)
			}
			out[f[0]] = Host{MAC: f[0], IP: ip, Name: f[2]}
		}
	}
	return out, nil
}

// writeHosts replaces a dhcp-hosts file atomically, so dnsmasq never reads half of it.
func writeHosts(path string, hosts map[string]Host) error {
	macs := make([]string, 0, len(hosts))
	for m := range hosts {
		macs = append(macs, m)
	}
	sort.Strings(macs)
	var b bytes.Buffer
	for _, m := range macs {
		h := hosts[m]
		if _, ok := profiles.ControlChar(h.MAC+h.Name, ""); ok || strings.ContainsAny(h.MAC+h.Name, ", ") {
			return fmt.Errorf("dhcp host %q,%q: a field holds a comma, a space or a control character: %w", h.MAC, h.Name, api.ErrInvalid)
		}
		b.WriteString(h.line() + "\n")
	}
	return writeGenerated(path, b.Bytes())
}

// writeGenerated writes a file lited generates for dnsmasq, after checking that no line holds
// a control character, a last net behind the checks of each value (dnsmasq reads one
// directive or host per line).
func writeGenerated(path string, data []byte) error {
	for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if r, ok := profiles.ControlChar(l, ""); ok {
			return fmt.Errorf("%s line %d: control character %U: refusing to write it: %w", filepath.Base(path), i+1, r, api.ErrInvalid)
		}
	}
	return atomicfile.WriteFile(path, data, 0o644)
}

// Lease is one line of dnsmasq's lease file.
type Lease struct {
	MAC  string
	IP   netip.Addr
	Name string
}

// readLeases parses dnsmasq's lease file ("expiry mac ip name clientid").
func readLeases(path string) ([]Lease, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Lease
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 4 {
			continue
		}
		ip, err := netip.ParseAddr(fl[2])
		if err != nil || !ip.Is4() {
			continue
		}
		out = append(out, Lease{MAC: strings.ToLower(fl[1]), IP: ip, Name: fl[3]})
	}
	return out, sc.Err()
}

// dropLeases removes the leases of the given MACs from a lease file (dnsmasq must not run).
func dropLeases(path string, macs map[string]bool) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var keep bytes.Buffer
	dropped := false
	for _, l := range strings.SplitAfter(string(b), "\n") {
		fl := strings.Fields(l)
		if len(fl) >= 2 && macs[strings.ToLower(fl[1])] {
			dropped = true
			continue
		}
		keep.WriteString(l)
	}
	if !dropped {
		return false, nil
	}
	return true, atomicfile.WriteFile(path, keep.Bytes(), 0o644)
}
