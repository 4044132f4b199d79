package test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLifecycle walks one instance through init, start, clean stop, start, restart, forced
// stop, a refused delete and a forced delete.
func TestLifecycle(t *testing.T) {
	d := sharedDaemon(t)
	deleteOnCleanup(t, d, "web2")
	dir := filepath.Join(d.Dir, "containers", "web2")
	lxcPath := filepath.Join(d.Dir, "containers")

	mustLite(t, d, "init", "debian/12", "web2")
	requireStatus(t, d, "web2", "STOPPED")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("after init: %v", err)
	}
	if m := monitorsOf(lxcPath, "web2"); len(m) != 0 {
		t.Fatalf("after init (not started): lxc monitor running: %q", m)
	}

	_, stderr, code := d.Lite("stop", "web2")
	oneLineError(t, "lite stop web2 (stopped)", stderr, code, `not running|stopped`)

	mustLite(t, d, "start", "web2")
	requireStatus(t, d, "web2", "RUNNING")
	waitRunning(t, d, "web2")
	pid := initPid(t, d, "web2")
	_, stderr, code = d.Lite("start", "web2")
	oneLineError(t, "lite start web2 (running)", stderr, code, `already running|is running`)
	if got := initPid(t, d, "web2"); got != pid {
		t.Errorf("a refused second start changed the init pid %d -> %d", pid, got)
	}

	// A clean stop lets systemd stop its units: this one leaves a file when it is stopped.
	armStopMarker(t, d, "web2")
	mustLite(t, d, "stop", "web2")
	requireStatus(t, d, "web2", "STOPPED")
	if procAlive(pid) {
		t.Errorf("after stop: init pid %d is still alive", pid)
	}
	if m := monitorsOf(lxcPath, "web2"); len(m) != 0 {
		t.Errorf("after stop: lxc monitor still running: %q", m)
	}

	mustLite(t, d, "start", "web2")
	requireStatus(t, d, "web2", "RUNNING")
	if _, stderr, code := d.Lite("exec", "web2", "--", "test", "-e", "/var/lite-clean-stop"); code != 0 {
		t.Errorf("lite stop was not a clean shutdown: the ExecStop marker is missing (exit %d, %s)", code, stderr)
	}
	waitRunning(t, d, "web2")

	pid = initPid(t, d, "web2")
	mustLite(t, d, "restart", "web2")
	requireStatus(t, d, "web2", "RUNNING")
	if newPid := initPid(t, d, "web2"); newPid == pid || procAlive(pid) {
		t.Errorf("restart: init pid %d -> %d (old alive: %v); want a new init", pid, newPid, procAlive(pid))
	}
	waitRunning(t, d, "web2")

	// A reboot inside: liblxc runs a new init under the same monitor. lite lists it running
	// with the new init's pid and its counters (a list reads them from /proc and the cgroup
	// files while the init Start saw runs, and asks liblxc when it is another).
	pid = initPid(t, d, "web2")
	d.Lite("exec", "web2", "--", "systemctl", "reboot") // the exec may end with the old init
	deadline := time.Now().Add(time.Minute)
	for status(t, d, "web2") != "RUNNING" || initPid(t, d, "web2") == pid {
		if time.Now().After(deadline) {
			t.Fatalf("a minute after systemctl reboot inside: %s, init pid %d (was %d)", status(t, d, "web2"), initPid(t, d, "web2"), pid)
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitRunning(t, d, "web2")
	newPid := initPid(t, d, "web2")
	if out := strings.TrimSpace(mustLite(t, d, "exec", "web2", "--", "cat", "/proc/1/stat")); !strings.HasPrefix(out, "1 (systemd)") {
		t.Errorf("after the reboot, pid 1 inside is %q", out)
	}
	for _, row := range listCSV(t, d, "npm") {
		if row[0] == "web2" && (row[1] != strconv.Itoa(newPid) || row[2] == "") {
			t.Errorf("after the reboot lite list shows web2 as %q, want pid %d and a memory usage", row, newPid)
		}
	}

	// A forced stop kills: the units get no chance to stop.
	mustLite(t, d, "exec", "web2", "--", "rm", "-f", "/var/lite-clean-stop")
	armStopMarker(t, d, "web2")
	pid = initPid(t, d, "web2")
	mustLite(t, d, "stop", "--force", "web2")
	requireStatus(t, d, "web2", "STOPPED")
	if procAlive(pid) {
		t.Errorf("after stop --force: init pid %d is still alive", pid)
	}
	mustLite(t, d, "start", "web2")
	requireStatus(t, d, "web2", "RUNNING")
	if _, _, code := d.Lite("exec", "web2", "--", "test", "-e", "/var/lite-clean-stop"); code == 0 {
		t.Errorf("stop --force ran the units' ExecStop: it shut down cleanly instead of killing")
	}

	// Deleting a running instance needs --force, and a refusal changes nothing.
	_, stderr, code = d.Lite("delete", "web2")
	oneLineError(t, "lite delete web2 (running)", stderr, code, `--force`)
	requireStatus(t, d, "web2", "RUNNING")
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("after the refused delete: %v", err)
	}
	if out := mustLite(t, d, "exec", "web2", "--", "echo", "still here"); out != "still here\n" {
		t.Errorf("after the refused delete: exec says %q", out)
	}

	pid = initPid(t, d, "web2")
	mustLite(t, d, "delete", "--force", "web2")
	if st := status(t, d, "web2"); st != "" {
		t.Errorf("after delete --force: lite list still shows web2 as %q", st)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after delete --force: %s still exists (%v)", dir, err)
	}
	if procAlive(pid) {
		t.Errorf("after delete --force: init pid %d is still alive", pid)
	}
	if m := monitorsOf(lxcPath, "web2"); len(m) != 0 {
		t.Errorf("after delete --force: lxc monitor still running: %q", m)
	}
	if m := mountsUnder(dir); len(m) != 0 {
		t.Errorf("after delete --force: mounts left: %q", m)
	}
}

// armStopMarker starts a transient unit in the instance that creates /var/lite-clean-stop when
// systemd stops it, which only a clean shutdown does.
func armStopMarker(t *testing.T, d *Daemon, name string) {
	t.Helper()
	mustLite(t, d, "exec", name, "--", "systemd-run", "--unit=lite-stop-marker", "--remain-after-exit",
		"-p", "ExecStop=/bin/touch /var/lite-clean-stop", "/bin/true")
	state := strings.TrimSpace(mustLite(t, d, "exec", name, "--", "systemctl", "show", "-p", "ActiveState", "--value", "lite-stop-marker"))
	if state != "active" {
		t.Fatalf("stop marker unit in %s is %q, want active", name, state)
	}
}
