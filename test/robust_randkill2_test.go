package test

import (
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// managedNetworks lists the networks lite manages (lite network list, MANAGED column).
func managedNetworks(t *testing.T, d *Daemon) []string {
	t.Helper()
	out := mustLite(t, d, "network", "list", "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("lite network list --format csv: not CSV: %v\n%s", err, out)
	}
	var nets []string
	for _, row := range rows {
		if len(row) > 2 && row[2] == "YES" {
			nets = append(nets, row[0])
		}
	}
	return nets
}

// nftQuoted matches the quoted interface names of an nft listing.
var nftQuoted = regexp.MustCompile(`"([^"]+)"`)

// checkNetConsistent compares lite's networks with the host after a restart: every network
// lite lists has its bridge, one dnsmasq and its directory (where its leases live), and no
// other directory is there; every port of those bridges is a veth of a running instance (one
// nic each here); the inet table names only listed bridges and the bridge table has a nic
// chain only for a veth that exists.
func checkNetConsistent(t *testing.T, d *Daemon, when string) {
	t.Helper()
	nets := managedNetworks(t, d)
	dirs := dirEntries(filepath.Join(d.Dir, "networks"))
	slices.Sort(nets)
	slices.Sort(dirs)
	if !slices.Equal(nets, dirs) {
		t.Errorf("%s: networks %v but directories (leases) %v", when, nets, dirs)
	}
	ports := 0
	for _, n := range nets {
		if !linkExists(n) {
			t.Errorf("%s: network %s has no bridge", when, n)
		}
		if c := dnsmasqCount(d, n); c != 1 {
			t.Errorf("%s: network %s has %d dnsmasq", when, n, c)
		}
		for _, p := range dirEntries(filepath.Join("/sys/class/net", n, "brif")) {
			ports++
			if !strings.HasPrefix(p, "veth") {
				t.Errorf("%s: bridge %s has port %s", when, n, p)
			}
		}
	}
	running := 0
	for _, row := range listCSV(t, d, "ns") {
		if len(row) == 2 && row[1] == "RUNNING" {
			running++
		}
	}
	if ports != running {
		t.Errorf("%s: %d veths on lite's bridges for %d running instances", when, ports, running)
	}
	inet, _ := exec.Command("nft", "list", "table", "inet", d.NFT).Output()
	for _, m := range nftQuoted.FindAllStringSubmatch(string(inet), -1) {
		if !slices.Contains(nets, m[1]) {
			t.Errorf("%s: nft table inet %s names %s, not a network", when, d.NFT, m[1])
		}
	}
	br, _ := exec.Command("nft", "list", "table", "bridge", d.NFT).Output()
	for _, l := range strings.Split(string(br), "\n") {
		f := strings.Fields(l)
		if len(f) > 1 && f[0] == "chain" && strings.HasPrefix(f[1], "nic_") && !linkExists(strings.TrimPrefix(f[1], "nic_")) {
			t.Errorf("%s: nft chain %s for a veth that does not exist", when, f[1])
		}
	}
}

// checkImagesConsistent: every entry of the image store is a listed image, nothing temporary.
func checkImagesConsistent(t *testing.T, d *Daemon, when string) {
	t.Helper()
	list := mustLite(t, d, "image", "list", "--format", "csv")
	for _, e := range storeEntries(t, d) {
		fp, ok := strings.CutPrefix(e, "images/")
		if !ok || strings.HasPrefix(fp, ".") || len(fp) < 12 || !strings.Contains(list, fp[:12]) {
			t.Errorf("%s: %s in the store is no listed image:\n%s", when, e, list)
		}
	}
}

// killOp is one long operation to interrupt: prep runs before it (and must succeed), undo
// removes whatever it may have left, from any state.
type killOp struct {
	what string
	args []string
	prep func()
	undo func()
	dur  time.Duration // measured once, uninterrupted
}

// killDuring runs op, SIGKILLs lited after a random part of its measured duration, restarts
// it and checks that instances, images and networks agree with the host.
func killDuring(t *testing.T, d *Daemon, op killOp, round int) {
	t.Helper()
	if op.prep != nil {
		op.prep()
	}
	delay := time.Duration(rand.Int64N(int64(op.dur)))
	when := fmt.Sprintf("round %d, kill %s after %s of %s", round, op.what, delay.Round(time.Millisecond), op.dur.Round(time.Millisecond))
	done := make(chan int)
	go func() {
		_, _, code := d.Lite(op.args...)
		done <- code
	}()
	time.Sleep(delay) // where the kill lands is the random input, not an assertion
	d.Kill(t)
	t.Logf("%s: lite exited %d", when, <-done)
	if err := d.start(); err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	checkConsistent(t, d, when)
	checkNetConsistent(t, d, when)
	checkImagesConsistent(t, d, when)
	op.undo()
	checkNetConsistent(t, d, when+", then undone")
}

// TestKillAtRandomPointsMore SIGKILLs lited at a random moment of a launch, an import of a
// backup, a publish, a network create and a network delete; after each restart instances,
// images, networks, bridges, dnsmasq, veths, leases and nft rules agree, and what the
// operation left can be removed.
func TestKillAtRandomPointsMore(t *testing.T) {
	d := startDaemon(t)
	const src = "rk2-src"
	net := "ltk" + d.Net[3:11]
	trackNetwork(net)
	backup := filepath.Join(t.TempDir(), "rk2.tar.gz")
	deleteIf := func(name string) {
		if names, err := d.instanceNames(); err == nil && slices.Contains(names, name) {
			mustLite(t, d, "delete", "--force", name)
		}
	}
	imageGone := func() {
		if strings.Contains(mustLite(t, d, "image", "list", "--format", "csv"), "rk2-pub") {
			mustLite(t, d, "image", "delete", "rk2-pub")
		}
		checkImagesConsistent(t, d, "after the image delete")
	}
	netGone := func() {
		if slices.Contains(managedNetworks(t, d), net) {
			mustLite(t, d, "network", "delete", net)
		}
	}
	// Each duration is measured on a second, warm run: the first one also unpacks or sets up
	// what later runs reuse, and a kill after a warm run's end would interrupt nothing.
	mustLite(t, d, "launch", "debian/12", src)
	launch := killOp{what: "launch", args: []string{"launch", "debian/12", "rk2-l"},
		undo: func() { deleteIf("rk2-l") }, dur: timed(t, d, "launch", "debian/12", "rk2-l")}
	launch.undo()
	mustLite(t, d, "export", src, backup)
	// The measured import makes the (stopped) instance publish needs.
	const pubSrc = "rk2-pubsrc"
	imp := killOp{what: "import", args: []string{"import", backup, "rk2-imp"},
		undo: func() { deleteIf("rk2-imp") }, dur: timed(t, d, "import", backup, pubSrc)}
	if status(t, d, pubSrc) != "STOPPED" {
		mustLite(t, d, "stop", "--force", pubSrc)
	}
	pub := killOp{what: "publish", args: []string{"publish", pubSrc, "--alias", "rk2-pub"},
		undo: imageGone, dur: timed(t, d, "publish", pubSrc, "--alias", "rk2-pub")}
	imageGone()
	gw := createLabNetwork(t, d, net)
	netGone()
	createArgs := []string{"network", "create", net, "ipv4.address=" + gw + "/24", "ipv4.nat=false"}
	create := killOp{what: "network create", args: createArgs, undo: netGone, dur: timed(t, d, createArgs...)}
	del := killOp{what: "network delete", args: []string{"network", "delete", net},
		prep: func() { netGone(); mustLite(t, d, create.args...) }, undo: netGone, dur: timed(t, d, "network", "delete", net)}
	t.Logf("measured: launch %s, import %s, publish %s, network create %s, delete %s",
		launch.dur, imp.dur, pub.dur, create.dur, del.dur)
	for round := 0; round < 2; round++ {
		for _, op := range []killOp{launch, imp, pub, create, del} {
			killDuring(t, d, op, round)
		}
	}
	if out := mustLite(t, d, "exec", src, "--", "echo", "ok"); out != "ok\n" {
		t.Errorf("exec in %s after the kills: %q", src, out)
	}
	mustLite(t, d, "delete", "--force", src, pubSrc)
	if _, err := os.Stat(filepath.Join(d.Dir, "containers", src)); err == nil {
		t.Errorf("%s still on disk after its delete", src)
	}
}
