package test

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNICFiltering plays root in a container that tries to be someone else on lite's bridge
// (issue 11, item 15), on a daemon of its own with a DHCP pool of five addresses:
//   - a flood of DHCPDISCOVERs with random client MACs gets no offer and takes no lease, so the
//     next container still gets an address (before the fix it drained the pool);
//   - traffic from an address that is not the container's own reaches no other container;
//   - after `ip link set eth0 address ...` nothing it sends reaches another container, and
//     DHCP for the new MAC gets nothing;
//   - the filters survive a SIGKILL of lited without duplicates, go with the container's stop,
//     and its reservation goes with its delete; the bridge's MAC stays put.
func TestNICFiltering(t *testing.T) {
	d := startDaemon(t)
	const spoof, victim, next = "nfspoof", "nfvictim", "nfnext"
	deleteOnCleanup(t, d, spoof, victim, next)
	gw := netip.MustParsePrefix(mustNetAddr(t, d, d.Net))
	first := gw.Masked().Addr().Next()
	if first == gw.Addr() {
		first = first.Next()
	}
	last := first.Next().Next().Next().Next()
	mustLite(t, d, "network", "set", d.Net, "ipv4.dhcp.ranges="+first.String()+"-"+last.String())
	mustLite(t, d, "launch", "debian/12", spoof)
	mustLite(t, d, "launch", "debian/12", victim)
	spoofIP, victimIP := waitIPv4(t, d, spoof, ""), waitIPv4(t, d, victim, "")
	waitRunning(t, d, spoof)
	probe := buildProbe(t, "dhcpprobe")
	mustLite(t, d, "file", "push", "--mode", "0755", probe, spoof+"/usr/local/bin/dhcpprobe")
	sh := func(script string) (string, int) {
		out, stderr, code := d.Lite("exec", spoof, "--", "sh", "-c", script)
		return out + stderr, code
	}

	t.Run("dhcp-flood", func(t *testing.T) {
		if out, _ := sh("dhcpprobe -i eth0 -own -n 1"); !strings.Contains(out, "offers 1 acks 0 of 1") {
			t.Fatalf("DHCP for the container's own MAC: %q, want an offer (the probe must work)", out)
		}
		before := leaseMACs(t, d)
		if out, _ := sh("dhcpprobe -i eth0 -n 40 -request -wait 1s"); !strings.Contains(out, "offers 0 acks 0 of 40") {
			t.Errorf("flood of random client MACs: %q, want no offer", out)
		}
		if after := leaseMACs(t, d); after != before {
			t.Errorf("the flood took leases: %q -> %q", before, after)
		}
		mustLite(t, d, "launch", "debian/12", next)
		if ip := waitIPv4(t, d, next, ""); !gw.Contains(netip.MustParseAddr(ip)) {
			t.Errorf("%s got %s, outside %s", next, ip, gw)
		}
	})

	t.Run("ipv4-spoof", func(t *testing.T) {
		requireReach(t, d, sh, victim, victimIP, "ping -c3 -W2 "+victimIP, 3)
		requireNoReach(t, d, sh, victim, spoofFrom(lastHost(gw), victimIP, 3))
	})

	t.Run("mac-spoof", func(t *testing.T) {
		// A second interface on eth0 with a MAC of the container's choosing and its own
		// address: only the MAC is foreign, so only the MAC filter stands in the way.
		t.Cleanup(func() { sh("ip link del ltspoof0") })
		requireNoReach(t, d, sh, victim, fmt.Sprintf("ip link add ltspoof0 link eth0 type macvlan mode bridge && "+
			"ip link set ltspoof0 address 02:00:5e:10:20:30 && ip addr add %[1]s/32 dev ltspoof0 && ip link set ltspoof0 up && "+
			"ip route add %[2]s/32 dev ltspoof0 || { echo SETUP FAILED; exit 1; }; ping -c3 -W1 -I ltspoof0 %[2]s", spoofIP, victimIP))
		if out, _ := sh("dhcpprobe -i ltspoof0 -own -n 3 -wait 1s"); !strings.Contains(out, "offers 0 acks 0 of 3") {
			t.Errorf("DHCP from a second MAC: %q, want no offer", out)
		}
		sh("ip link del ltspoof0")
		// eth0 itself under another MAC: its DHCP gets nothing either.
		mac, _ := sh("cat /sys/class/net/eth0/address")
		mac = strings.TrimSpace(mac)
		t.Cleanup(func() { sh("ip link set eth0 address " + mac) })
		if out, code := sh("ip link set eth0 address 02:00:5e:10:20:31"); code != 0 {
			t.Fatalf("change eth0's MAC: %s", out)
		}
		if out, _ := sh("dhcpprobe -i eth0 -own -n 3 -wait 1s"); !strings.Contains(out, "offers 0 acks 0 of 3") {
			t.Errorf("DHCP from a changed MAC: %q, want no offer", out)
		}
		sh("ip link set eth0 address " + mac)
		requireReach(t, d, sh, victim, victimIP, "ping -c3 -W2 "+victimIP, 3)
	})

	t.Run("restart-stop-delete", func(t *testing.T) {
		veth := strings.TrimSpace(mustLite(t, d, "config", "get", spoof, "volatile.eth0.host_name"))
		d.Kill(t)
		if err := d.start(); err != nil {
			t.Fatal(err)
		}
		rules := nftBridgeTable(t, d)
		for want, n := range map[string]int{"iifname vmap @nics": 1, fmt.Sprintf("%q : jump nic_%s", veth, veth): 1, "ip saddr != " + spoofIP + " drop": 1} {
			if c := strings.Count(rules, want); c != n {
				t.Errorf("after a SIGKILL of lited: %q %d times in the bridge table, want %d:\n%s", want, c, n, rules)
			}
		}
		requireNoReach(t, d, sh, victim, spoofFrom(lastHost(gw), victimIP, 2))
		mustLite(t, d, "stop", "--force", spoof)
		if rules := nftBridgeTable(t, d); strings.Contains(rules, veth) {
			t.Errorf("%s stopped, its filter stays:\n%s", spoof, rules)
		}
		// The bridge's MAC is pinned: a port leaving never changes the gateway's MAC under the
		// other containers (their ARP entries would point nowhere for half a minute).
		brMAC := func() string {
			b, _ := os.ReadFile("/sys/class/net/" + d.Net + "/address")
			return strings.TrimSpace(string(b))
		}
		if b, _ := os.ReadFile("/sys/class/net/" + d.Net + "/addr_assign_type"); strings.TrimSpace(string(b)) != "3" {
			t.Errorf("bridge %s: addr_assign_type %q, want 3 (set by lited)", d.Net, b)
		}
		before := brMAC()
		mustLite(t, d, "delete", spoof)
		if after := brMAC(); after != before {
			t.Errorf("bridge %s changed its MAC when %s left: %s -> %s", d.Net, spoof, before, after)
		}
		if b, _ := os.ReadFile(filepath.Join(d.Dir, "networks", d.Net, "dnsmasq.hosts")); strings.Contains(string(b), ","+spoof) {
			t.Errorf("%s deleted, its reservation stays:\n%s", spoof, b)
		}
	})
}

// leaseMACs is the sorted MAC column of the daemon's default network's lease file.
func leaseMACs(t *testing.T, d *Daemon) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.Dir, "networks", d.Net, "dnsmasq.leases"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var macs []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 {
			macs = append(macs, f[1])
		}
	}
	return strings.Join(macs, " ")
}

// lastHost is the last address of a subnet before its broadcast address.
func lastHost(p netip.Prefix) string {
	a := p.Masked().Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= 1<<(32-p.Bits()) - 1
	v--
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

// inEchos is the count of ICMP echo requests that reached a container (its own namespace).
func inEchos(t *testing.T, d *Daemon, name string) int {
	t.Helper()
	lines := strings.Split(mustLite(t, d, "exec", name, "--", "cat", "/proc/net/snmp"), "\n")
	for i := 0; i+1 < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "Icmp: ") || !strings.HasPrefix(lines[i+1], "Icmp: ") {
			continue
		}
		keys, vals := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		for k := range keys {
			if keys[k] == "InEchos" && k < len(vals) {
				n, err := strconv.Atoi(vals[k])
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
		}
	}
	t.Fatalf("no Icmp InEchos in %s's /proc/net/snmp", name)
	return 0
}

// requireReach runs script in the spoofing container and checks it succeeds and at least n
// echo requests reached the victim: the path works, so a later zero means filtered.
func requireReach(t *testing.T, d *Daemon, sh func(string) (string, int), victim, victimIP, script string, n int) {
	t.Helper()
	before := inEchos(t, d, victim)
	if out, code := sh(script); code != 0 {
		t.Fatalf("%s: exit %d: %s", script, code, out)
	}
	if got := inEchos(t, d, victim) - before; got < n {
		t.Errorf("%s: %d echo requests reached %s (%s), want %d", script, got, victim, victimIP, n)
	}
}

// spoofFrom is a script that pings to from the address fake, which is not the container's.
func spoofFrom(fake, to string, n int) string {
	return fmt.Sprintf("ip addr add %[1]s/32 dev eth0 || { echo SETUP FAILED; exit 1; }; ping -c%[3]d -W1 -I %[1]s %[2]s; ip addr del %[1]s/32 dev eth0", fake, to, n)
}

// requireNoReach runs script (spoofed pings) and checks that no echo request reached the victim.
func requireNoReach(t *testing.T, d *Daemon, sh func(string) (string, int), victim, script string) {
	t.Helper()
	before := inEchos(t, d, victim)
	out, _ := sh(script)
	if strings.Contains(out, "SETUP FAILED") {
		t.Fatalf("%s: could not set the spoof up: %s", script, out)
	}
	if got := inEchos(t, d, victim) - before; got != 0 {
		t.Errorf("%s: %d spoofed echo requests reached %s (%s)", script, got, victim, out)
	}
}

// nftBridgeTable lists the daemon's bridge-family table (the nic filters).
func nftBridgeTable(t *testing.T, d *Daemon) string {
	t.Helper()
	out, err := exec.Command("nft", "list", "table", "bridge", d.NFT).CombinedOutput()
	if err != nil {
		t.Fatalf("nft list table bridge %s: %v: %s", d.NFT, err, out)
	}
	return string(out)
}
