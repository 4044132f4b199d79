package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// dnsmasqPid reads the pid file of network n's dnsmasq.
func dnsmasqPid(t *testing.T, d *Daemon, n string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.Dir, "networks", n, "dnsmasq.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("dnsmasq pid file: %v", err)
	}
	return pid
}

// TestBridgeGoneWhileDown deletes lited's bridge while lited is down (SIGKILLed): the next
// lited makes the bridge again and replaces the dnsmasq still bound to the vanished one, so
// a container started afterwards gets an address.
func TestBridgeGoneWhileDown(t *testing.T) {
	d := startDaemon(t)
	const name = "robust-br"
	mustLite(t, d, "launch", "debian/12", name)
	waitIPv4(t, d, name, "")
	// First lited makes the bridge again itself; then someone else has made a bridge of that
	// name before lited starts (only its interface index tells the old dnsmasq's is gone).
	for _, remake := range []bool{false, true} {
		bridgeGone(t, d, name, remake)
	}
	mustLite(t, d, "delete", "--force", name)
}

// bridgeGone kills lited, deletes its bridge (and makes a new one of the same name when
// remake is set), restarts lited and checks the old dnsmasq is replaced and container name
// gets an address again.
func bridgeGone(t *testing.T, d *Daemon, name string, remake bool) {
	t.Helper()
	oldPid := dnsmasqPid(t, d, d.Net)
	d.Kill(t)
	if out, err := exec.Command("ip", "link", "del", d.Net).CombinedOutput(); err != nil {
		t.Fatalf("ip link del %s: %v: %s", d.Net, err, out)
	}
	if remake {
		if out, err := exec.Command("ip", "link", "add", d.Net, "type", "bridge").CombinedOutput(); err != nil {
			t.Fatalf("ip link add %s: %v: %s", d.Net, err, out)
		}
	}
	if !procAlive(oldPid) {
		t.Fatalf("dnsmasq %d died with its bridge: the test no longer covers an orphaned dnsmasq", oldPid)
	}
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	if !linkExists(d.Net) {
		t.Fatalf("lited did not make bridge %s again", d.Net)
	}
	if n := dnsmasqCount(d, d.Net); n != 1 {
		t.Errorf("%d dnsmasq processes serve %s, want 1", n, d.Net)
	}
	if pid := dnsmasqPid(t, d, d.Net); pid == oldPid || procAlive(oldPid) {
		t.Errorf("lited adopted dnsmasq %d bound to the deleted bridge (now %d)", oldPid, pid)
	}
	// The container's veth went with the old bridge: a new start attaches it to the new one.
	mustLite(t, d, "stop", "--force", name)
	mustLite(t, d, "start", name)
	waitIPv4(t, d, name, "")
}
