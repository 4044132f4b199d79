package test

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNetwork drives networking end to end on a daemon of its own (it kills lited midway):
// two containers on the default network and one on a created network, DHCP addresses in
// lite list, names resolving both ways, ping and TCP between containers, ssh from the host,
// a static lease, a proxy device on the host's loopback, refused bad input that changes
// nothing, a SIGKILLed lited that adopts bridge, dnsmasq and nft table without duplicating
// them, and clean removal. All traffic stays between the host and its own containers.
func TestNetwork(t *testing.T) {
	d := startDaemon(t)
	const web, db, app = "netweb1", "netdb1", "netapp1"
	deleteOnCleanup(t, d, web, db, app)
	lab := d.Net[:3] + "l" + d.Net[4:] // a second bridge name of this run, <= 15 characters
	trackNetwork(lab)
	t.Cleanup(func() {
		if d.Running() {
			d.Lite("delete", "--force", app)
			d.Lite("network", "delete", lab)
		}
	})

	show := mustLite(t, d, "network", "show", d.Net)
	if !strings.Contains(show, "/1.0/profiles/default") || !strings.Contains(show, "ipv4.nat: \"false\"") {
		t.Fatalf("default network %s: not used by the default profile, or NAT on:\n%s", d.Net, show)
	}
	mustLite(t, d, "launch", "debian/12", web)
	mustLite(t, d, "launch", "debian/12", db)
	webIP, dbIP := waitIPv4(t, d, web, ""), waitIPv4(t, d, db, "")
	waitRunning(t, d, web) // sshd up
	waitRunning(t, d, db)

	t.Run("names-ping-tcp", func(t *testing.T) {
		if out := mustLite(t, d, "exec", web, "--", "getent", "hosts", db+".lite"); !strings.HasPrefix(out, dbIP+" ") {
			t.Errorf("%s resolves %s.lite to %q, want %s", web, db, out, dbIP)
		}
		if out := mustLite(t, d, "exec", db, "--", "getent", "hosts", web+".lite"); !strings.HasPrefix(out, webIP+" ") {
			t.Errorf("%s resolves %s.lite to %q, want %s", db, web, out, webIP)
		}
		mustLite(t, d, "exec", web, "--", "ping", "-c1", "-W5", db+".lite")
		banner := mustLite(t, d, "exec", web, "--", "bash", "-c", "exec 3<>/dev/tcp/"+db+".lite/22 && head -c 7 <&3")
		if banner != "SSH-2.0" {
			t.Errorf("TCP to %s:22 from %s read %q, want the ssh banner", db, web, banner)
		}
	})

	t.Run("ssh-from-host", func(t *testing.T) { sshFromHost(t, d, web, webIP) })

	t.Run("created-network", func(t *testing.T) {
		gw := createLabNetwork(t, d, lab)
		prefix := gw[:strings.LastIndex(gw, ".")+1]
		mustLite(t, d, "launch", "debian/12", app, "--network", lab)
		appIP := waitIPv4(t, d, app, prefix)
		mustLite(t, d, "exec", app, "--", "ping", "-c1", "-W5", gw)
		// Static lease: a fixed address, honoured at the next start.
		fixed := prefix + "50"
		if fixed == appIP {
			fixed = prefix + "51"
		}
		mustLite(t, d, "stop", "--force", app)
		mustLite(t, d, "config", "device", "set", app, "eth0", "ipv4.address="+fixed)
		mustLite(t, d, "start", app)
		waitIPv4(t, d, app, fixed)
		if out := mustLite(t, d, "network", "list-leases", lab, "--format", "csv"); !strings.Contains(out, app+",") || !strings.Contains(out, ","+fixed+",STATIC") {
			t.Errorf("list-leases of %s lacks %s's reservation %s:\n%s", lab, app, fixed, out)
		}
	})

	t.Run("bad-input", func(t *testing.T) {
		before := mustLite(t, d, "network", "list", "--format", "csv")
		_, stderr, code := d.Lite("network", "create", "ltnbad"+d.Net[3:7], "ipv4.address="+strings.TrimSuffix(mustNetAddr(t, d, lab), "/24")+"/24")
		oneLineError(t, "create with an overlapping subnet", stderr, code, "overlaps")
		_, stderr, code = d.Lite("network", "create", "ltnbad"+d.Net[3:7], "ipv4.address=10.1.2.300/24")
		oneLineError(t, "create with a bad CIDR", stderr, code, "not an IPv4 address")
		_, stderr, code = d.Lite("network", "delete", lab)
		oneLineError(t, "delete a network in use", stderr, code, "in use")
		if after := mustLite(t, d, "network", "list", "--format", "csv"); after != before {
			t.Errorf("refused network commands changed the list:\n%s\nvs\n%s", before, after)
		}
		if linkExists("ltnbad" + d.Net[3:7]) {
			t.Errorf("a refused create left its bridge")
		}
		devs := mustLite(t, d, "config", "device", "show", db)
		for _, c := range []struct{ addr, want string }{
			{"192.0.2.10", "outside"}, {webIP, "taken"}, {strings.TrimSuffix(mustNetAddr(t, d, d.Net), "/24"), "gateway"},
		} {
			_, stderr, code := d.Lite("config", "device", "add", db, "eth0", "nic", "network="+d.Net, "ipv4.address="+c.addr)
			oneLineError(t, "nic with ipv4.address="+c.addr, stderr, code, c.want)
		}
		if now := mustLite(t, d, "config", "device", "show", db); now != devs {
			t.Errorf("refused device adds changed %s's devices: %q -> %q", db, devs, now)
		}
	})

	port := proxyPort(t)
	t.Run("proxy", func(t *testing.T) {
		mustLite(t, d, "config", "device", "add", web, "ssh", "proxy", fmt.Sprintf("listen=tcp:127.0.0.1:%d", port), "connect=tcp:127.0.0.1:22")
		requireBanner(t, port)
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		devs := mustLite(t, d, "config", "device", "show", db)
		_, stderr, code := d.Lite("config", "device", "add", db, "p", "proxy", "listen=tcp:"+busy.Addr().String(), "connect=tcp:127.0.0.1:22")
		oneLineError(t, "proxy on a port in use", stderr, code, "in use")
		if now := mustLite(t, d, "config", "device", "show", db); now != devs {
			t.Errorf("refused proxy changed %s's devices", db)
		}
	})

	t.Run("daemon-sigkill", func(t *testing.T) {
		d.Kill(t)
		if err := d.start(); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{d.Net, lab} {
			if got := dnsmasqCount(d, n); got != 1 {
				t.Errorf("after restart: %d dnsmasq for %s, want 1", got, n)
			}
			rules, err := exec.Command("nft", "list", "table", "inet", d.NFT).CombinedOutput()
			if err != nil {
				t.Fatalf("nft list table %s: %v: %s", d.NFT, err, rules)
			}
			// Test networks have no NAT: each has one rule dropping what would leave it.
			if c := strings.Count(string(rules), fmt.Sprintf("iifname %q drop", n)); c != 1 {
				t.Errorf("after restart: %d forward rules for %s, want 1:\n%s", c, n, rules)
			}
		}
		if got := waitIPv4(t, d, web, webIP); got != webIP {
			t.Errorf("%s changed address across the restart: %s -> %s", web, webIP, got)
		}
		if out := mustLite(t, d, "exec", web, "--", "getent", "hosts", db+".lite"); !strings.HasPrefix(out, dbIP+" ") {
			t.Errorf("after restart %s resolves %s.lite to %q", web, db, out)
		}
		requireBanner(t, port)
	})

	t.Run("removal", func(t *testing.T) {
		start := time.Now()
		step := func(what string) { t.Logf("%s done after %s", what, time.Since(start).Round(time.Millisecond)) }
		mustLite(t, d, "delete", "--force", db)
		step("delete " + db)
		eventually(t, 30*time.Second, db+"'s name freed", func() (bool, string) {
			out, _, code := d.Lite("exec", web, "--", "getent", "hosts", db+".lite")
			return code != 0, out
		})
		step("name freed")
		if b, _ := os.ReadFile(filepath.Join(d.Dir, "networks", d.Net, "dnsmasq.leases")); strings.Contains(string(b), " "+db+" ") {
			t.Errorf("lease of deleted %s still there:\n%s", db, b)
		}
		mustLite(t, d, "delete", "--force", app)
		step("delete " + app)
		mustLite(t, d, "network", "delete", lab)
		step("network delete")
		if linkExists(lab) {
			t.Errorf("bridge %s still exists after network delete", lab)
		}
		if _, err := os.Stat(filepath.Join(d.Dir, "networks", lab)); err == nil {
			t.Errorf("files of %s still exist", lab)
		}
		if n := dnsmasqCount(d, lab); n != 0 {
			t.Errorf("%d dnsmasq of %s still running", n, lab)
		}
		rules, _ := exec.Command("nft", "list", "table", "inet", d.NFT).CombinedOutput()
		if strings.Contains(string(rules), lab) {
			t.Errorf("nft rules of %s still there:\n%s", lab, rules)
		}
	})
}

// waitIPv4 waits until lite list shows an IPv4 for name starting with want ("" = any) and
// returns it.
func waitIPv4(t *testing.T, d *Daemon, name, want string) string {
	t.Helper()
	var ip string
	eventually(t, 90*time.Second, name+" has an IPv4 "+want, func() (bool, string) {
		for _, row := range listCSV(t, d, "n4") {
			if len(row) == 2 && row[0] == name {
				ip, _, _ = strings.Cut(row[1], " ")
				return ip != "" && strings.HasPrefix(ip, want), row[1]
			}
		}
		return false, "not listed"
	})
	return ip
}

// createLabNetwork creates network name on a free 10.x.y.0/24 (another run or the host may
// hold one already) and returns its gateway address.
func createLabNetwork(t *testing.T, d *Daemon, name string) string {
	t.Helper()
	var last string
	for i := 0; i < 20; i++ {
		b := make([]byte, 2)
		_, _ = rand.Read(b)
		gw := fmt.Sprintf("10.%d.%d.1", 100+int(b[0])%100, b[1])
		_, stderr, code := d.Lite("network", "create", name, "ipv4.address="+gw+"/24", "ipv4.nat=false")
		if code == 0 {
			return gw
		}
		if !strings.Contains(stderr, "overlaps") {
			t.Fatalf("lite network create %s: exit %d: %s", name, code, stderr)
		}
		last = stderr
	}
	t.Fatalf("no free subnet for %s after 20 tries: %s", name, last)
	return ""
}

// mustNetAddr returns a network's ipv4.address.
func mustNetAddr(t *testing.T, d *Daemon, name string) string {
	t.Helper()
	for _, l := range strings.Split(mustLite(t, d, "network", "show", name), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "ipv4.address: "); ok {
			return strings.Trim(v, `"`)
		}
	}
	t.Fatalf("network %s has no ipv4.address", name)
	return ""
}

// dnsmasqCount counts the dnsmasq processes serving network n of the daemon.
func dnsmasqCount(d *Daemon, n string) int {
	conf := "--conf-file=" + filepath.Join(d.Dir, "networks", n, "dnsmasq.conf")
	c := 0
	for _, cmdline := range processes() {
		if strings.Contains(cmdline, "dnsmasq") && strings.Contains(cmdline, conf) {
			c++
		}
	}
	return c
}

// proxyPort finds a free loopback port for the proxy test.
func proxyPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// requireBanner reads sshd's banner through the proxy on the host's loopback.
func requireBanner(t *testing.T, port int) {
	t.Helper()
	eventually(t, 30*time.Second, "ssh banner through the proxy", func() (bool, string) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
		if err != nil {
			return false, err.Error()
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		return strings.HasPrefix(line, "SSH-2.0-"), fmt.Sprintf("%q %v", line, err)
	})
}

// sshFromHost pushes a fresh key into the container with lite exec and runs ssh to it.
func sshFromHost(t *testing.T, d *Daemon, name, ip string) {
	dir := t.TempDir()
	key := filepath.Join(dir, "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, code := d.LiteIn(strings.NewReader(string(pub)), "exec", name, "--", "bash", "-c",
		"install -d -m 700 /root/.ssh && cat > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys")
	if code != 0 {
		t.Fatalf("push the key: exit %d: %s", code, stderr)
	}
	out, err := exec.Command("ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "ConnectTimeout=20", "-i", key, "root@"+ip, "hostname").CombinedOutput()
	if err != nil || !strings.Contains(string(out), name) {
		t.Fatalf("ssh root@%s hostname: %v: %s", ip, err, out)
	}
}
