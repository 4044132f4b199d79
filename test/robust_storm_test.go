package test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// randomTag returns a short random hex tag, so names of this run clash with no other run on
// the host (cgroups are named after containers, across every lxcpath).
func randomTag() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// cgroupsNamed lists the cgroup directories under /sys/fs/cgroup (any hierarchy, any depth)
// whose name starts with prefix.
func cgroupsNamed(t *testing.T, prefix string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir("/sys/fs/cgroup", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil // a cgroup removed while walking
		}
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestConfigSetRacesStartStop changes a container's config again and again while another
// client starts and stops it: every change succeeds (a read taken before a start or stop
// is no reason to refuse it), and the last one is kept.
func TestConfigSetRacesStartStop(t *testing.T) {
	d := sharedDaemon(t)
	name := "robust-race-" + randomTag()
	deleteOnCleanup(t, d, name)
	mustLite(t, d, "init", "debian/12", name)
	const rounds = 6
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < rounds; i++ {
			d.Lite("start", name)
			d.Lite("stop", "--force", name)
		}
	}()
	n := 0
	for i := 0; i < 4*rounds; i++ {
		n = i
		if _, stderr, code := d.Lite("config", "set", name, fmt.Sprintf("user.n=%d", i)); code != 0 {
			t.Errorf("config set while starting and stopping (round %d): exit %d: %s", i, code, stderr)
		}
	}
	wg.Wait()
	if got := strings.TrimSpace(mustLite(t, d, "config", "get", name, "user.n")); got != fmt.Sprint(n) {
		t.Errorf("user.n = %q, want %d", got, n)
	}
	mustLite(t, d, "delete", "--force", name)
}

// TestLaunchStormLeavesNoCgroups launches, restarts and deletes containers in parallel (and
// one whose start fails): afterwards no cgroup of theirs is left in any hierarchy.
func TestLaunchStormLeavesNoCgroups(t *testing.T) {
	d := sharedDaemon(t)
	prefix := "robust-st-" + randomTag()
	const n = 4
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	bad := prefix + "-bad"
	deleteOnCleanup(t, d, append(names, bad)...)
	var wg sync.WaitGroup
	errs := make(chan string, 4*n)
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, args := range [][]string{{"launch", "debian/12", name}, {"stop", "--force", name}, {"start", name}, {"delete", "--force", name}} {
				if _, stderr, code := d.Lite(args...); code != 0 {
					errs <- fmt.Sprintf("lite %s: exit %d: %s", strings.Join(args, " "), code, stderr)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, _, code := d.Lite("launch", "debian/12", bad, "-c", "raw.lxc=lxc.init.cmd = /robust-no-such-init"); code == 0 {
			errs <- "a container whose init does not exist started"
		}
		if _, stderr, code := d.Lite("delete", "--force", bad); code != 0 {
			errs <- fmt.Sprintf("delete %s: exit %d: %s", bad, code, stderr)
		}
	}()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for _, kind := range []string{"lxc.payload.", "lxc.monitor."} {
		if left := cgroupsNamed(t, kind+prefix); len(left) > 0 {
			t.Errorf("cgroups left after the storm: %v", left)
		}
	}
}

// TestLaunchStormRunsOutOfAddresses launches more containers at once than their network
// has addresses: the ones that fit run with addresses of their own; each of the others
// fails with an error that says why and what to do, exits non-zero and is left whole and
// stopped (as LXD leaves a launch whose start failed), with no veth, cgroup or DHCP entry;
// freeing an address lets one of them start.
func TestLaunchStormRunsOutOfAddresses(t *testing.T) {
	d := sharedDaemon(t)
	tag := randomTag()
	const fit, n = 3, 5
	net := "ltst" + tag
	prefix := smallNetwork(t, d, net, fit)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("storm-ad-%s-%d", tag, i)
	}
	deleteOnCleanup(t, d, names...)

	type result struct {
		name, stderr string
		code         int
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, stderr, code := d.Lite("launch", "debian/12", name, "--network", net)
			results <- result{name, stderr, code}
		}()
	}
	wg.Wait()
	close(results)
	var failed []string
	for r := range results {
		if r.code == 0 {
			continue
		}
		failed = append(failed, r.name)
		if len(failed) == 1 {
			t.Logf("%s refused: %s", r.name, strings.TrimSpace(r.stderr))
		}
		if !strings.Contains(r.stderr, "no free address left") || !strings.Contains(r.stderr, "ipv4.dhcp.ranges") {
			t.Errorf("launch %s: exit %d, stderr does not say the network is out of addresses and what to widen:\n%s", r.name, r.code, r.stderr)
		}
	}
	if len(failed) != n-fit {
		t.Fatalf("%d of %d launches failed on a network with %d addresses, want %d: %v", len(failed), n, fit, n-fit, failed)
	}
	seen := map[string]string{}
	for _, name := range names {
		if slices.Contains(failed, name) {
			requireStatus(t, d, name, "STOPPED")
			if hn := strings.TrimSpace(mustLite(t, d, "config", "get", name, "volatile.eth0.host_name")); hn != "" && d.linkExists(hn) {
				t.Errorf("%s did not start but its host veth %s is there", name, hn)
			}
			for _, kind := range []string{"lxc.payload.", "lxc.monitor."} {
				if left := cgroupsNamed(t, kind+name); len(left) > 0 {
					t.Errorf("%s did not start but its cgroups are there: %v", name, left)
				}
			}
			continue
		}
		requireStatus(t, d, name, "RUNNING")
		ip := strings.TrimSpace(mustLite(t, d, "config", "get", name, "volatile.eth0.ipv4.address"))
		if !strings.HasPrefix(ip, prefix+".") || seen[ip] != "" {
			t.Errorf("%s reserved %q (the range is %s.10-%d; already %q's)", name, ip, prefix, 10+fit-1, seen[ip])
		}
		seen[ip] = name
	}
	hosts, err := os.ReadFile(filepath.Join(d.Dir, "networks", net, "dnsmasq.hosts"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range failed {
		if strings.Contains(string(hosts), name) {
			t.Errorf("%s did not start but dnsmasq's hosts name it:\n%s", name, hosts)
		}
	}

	// One running container goes away: its address is free again for a stopped one.
	var gone string
	for _, name := range names {
		if !slices.Contains(failed, name) {
			gone = name
			break
		}
	}
	mustLite(t, d, "delete", "--force", gone)
	mustLite(t, d, "start", failed[0])
	requireStatus(t, d, failed[0], "RUNNING")
}

// TestParallelDeletesReleaseLeases deletes every container of a network at once: the
// deletes share restarts of its dnsmasq (network/hosts.go), and still every lease and
// dhcp-hosts entry goes, so a second set of containers gets the same (only) addresses at
// once: dnsmasq would not hand out an address still leased to another MAC.
func TestParallelDeletesReleaseLeases(t *testing.T) {
	d := sharedDaemon(t)
	tag := randomTag()
	const n = 4
	net := "ltpd" + tag
	prefix := smallNetwork(t, d, net, n)
	netDir := filepath.Join(d.Dir, "networks", net)
	for round := range 2 {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("pd-%s-%d-%d", tag, round, i)
		}
		deleteOnCleanup(t, d, names...)
		parallel(t, names, func(name string) error { return liteErr(d, "launch", "debian/12", name, "--network", net) })
		for _, name := range names {
			waitIPv4(t, d, name, prefix+".")
		}
		eventually(t, 30*time.Second, "every container's lease", func() (bool, string) {
			b, _ := os.ReadFile(filepath.Join(netDir, "dnsmasq.leases"))
			return strings.Count(string(b), "\n") == n, string(b)
		})
		parallel(t, names, func(name string) error { return liteErr(d, "delete", "--force", name) })
		for _, f := range []string{"dnsmasq.leases", "dnsmasq.hosts"} {
			b, err := os.ReadFile(filepath.Join(netDir, f))
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range names {
				if strings.Contains(string(b), name) {
					t.Errorf("round %d: %s still names deleted %s:\n%s", round, f, name, b)
				}
			}
			if f == "dnsmasq.leases" && len(strings.TrimSpace(string(b))) > 0 {
				t.Errorf("round %d: leases left after every container was deleted:\n%s", round, b)
			}
		}
	}
}

// smallNetwork creates network name (deleted when the test ends) whose DHCP range holds only
// size addresses, .10 on, and returns its "10.a.b" prefix.
func smallNetwork(t *testing.T, d *Daemon, name string, size int) (prefix string) {
	t.Helper()
	gw := createLabNetwork(t, d, name)
	t.Cleanup(func() {
		if _, stderr, code := d.Lite("network", "delete", name); code != 0 {
			t.Errorf("cleanup: network delete %s: exit %d: %s", name, code, stderr)
		}
	})
	prefix = strings.TrimSuffix(gw, ".1")
	mustLite(t, d, "network", "set", name, fmt.Sprintf("ipv4.dhcp.ranges=%s.10-%s.%d", prefix, prefix, 10+size-1))
	return prefix
}

// parallel runs fn for every name at once; the test stops when any failed.
func parallel(t *testing.T, names []string, fn func(name string) error) {
	t.Helper()
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = fn(name) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// liteErr runs lite and returns an error that says what failed, for goroutines (which must
// not stop the test themselves).
func liteErr(d *Daemon, args ...string) error {
	if _, stderr, code := d.Lite(args...); code != 0 {
		return fmt.Errorf("lite %s: exit %d: %s", strings.Join(args, " "), code, strings.TrimSpace(stderr))
	}
	return nil
}
