package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lxcState returns the state of a container of d (RUNNING, FROZEN, STOPPED...): liblxc's,
// and the kernel's freezer for one liblxc sees running.
func lxcState(d *Daemon, name string) string {
	out, _ := exec.Command("lxc-info", "-P", filepath.Join(d.Dir, "containers"), "-n", name, "-s", "-H").Output()
	st := strings.TrimSpace(string(out))
	if st != "RUNNING" {
		return st
	}
	// lited freezes through the cgroup file, which liblxc's monitor does not see: ask the
	// kernel, through the cgroups of the container's init.
	pidOut, _ := exec.Command("lxc-info", "-P", filepath.Join(d.Dir, "containers"), "-n", name, "-p", "-H").Output()
	cg, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pidOut)) + "/cgroup")
	if err != nil {
		return st
	}
	for _, line := range strings.Split(string(cg), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[1] == "freezer":
			if b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/freezer", parts[2], "freezer.state")); err == nil && strings.TrimSpace(string(b)) != "THAWED" {
				return strings.TrimSpace(string(b))
			}
		case parts[0] == "0":
			for _, root := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
				if b, err := os.ReadFile(filepath.Join(root, parts[2], "cgroup.events")); err == nil && strings.Contains(string(b), "frozen 1") {
					return "FROZEN"
				}
			}
		}
	}
	return st
}

// blockShutdown installs and starts a unit whose stop never ends, so a clean shutdown of
// the container hangs for good.
func blockShutdown(t *testing.T, d *Daemon, name string) {
	t.Helper()
	unit := "[Service]\nExecStart=/bin/sleep infinity\nExecStop=/bin/sleep infinity\nTimeoutStopSec=infinity\n"
	mustLite(t, d, "exec", name, "--", "sh", "-c",
		"printf '"+strings.ReplaceAll(unit, "\n", `\n`)+"' > /etc/systemd/system/robust-block.service && systemctl daemon-reload && systemctl start robust-block.service")
}

// forceStopWins runs the hanging command args in the background, waits until the container
// is shutting down, then checks `lite stop --force` ends it within a deadline and the
// hanging command returns.
func forceStopWins(t *testing.T, d *Daemon, name string, args ...string) {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		_, stderr, code := d.Lite(args...)
		done <- fmt.Sprintf("exit %d: %s", code, strings.TrimSpace(stderr))
	}()
	eventually(t, 60*time.Second, name+" to start shutting down", func() (bool, string) {
		out, _, code := d.Lite("exec", name, "--", "systemctl", "is-system-running")
		return code != 0 || strings.TrimSpace(out) == "stopping", out
	})
	if _, stderr, code := d.liteTimeout(60*time.Second, nil, "stop", "--force", name); code != 0 {
		t.Fatalf("stop --force during `lite %s`: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	requireStatus(t, d, name, "STOPPED")
	select {
	case r := <-done:
		t.Logf("lite %s after the forced stop: %s", strings.Join(args, " "), r)
	case <-time.After(60 * time.Second):
		t.Fatalf("lite %s still hangs after the forced stop", strings.Join(args, " "))
	}
}

// TestForceStopWins checks `stop --force` ends a container within a deadline while a clean
// stop or a restart of it hangs (a unit that never stops), and that it stops a frozen one.
func TestForceStopWins(t *testing.T) {
	d := sharedDaemon(t)
	name := "robust-fs-" + randomTag()
	deleteOnCleanup(t, d, name)
	mustLite(t, d, "launch", "debian/12", name)
	waitRunning(t, d, name)
	blockShutdown(t, d, name)
	forceStopWins(t, d, name, "stop", name)

	mustLite(t, d, "start", name)
	waitRunning(t, d, name)
	blockShutdown(t, d, name)
	forceStopWins(t, d, name, "restart", name)

	mustLite(t, d, "start", name)
	if out, err := exec.Command("lxc-freeze", "-P", filepath.Join(d.Dir, "containers"), "-n", name).CombinedOutput(); err != nil {
		t.Fatalf("lxc-freeze: %v: %s", err, out)
	}
	if st := lxcState(d, name); st != "FROZEN" {
		t.Fatalf("after lxc-freeze: %s", st)
	}
	if _, stderr, code := d.liteTimeout(60*time.Second, nil, "stop", "--force", name); code != 0 {
		t.Fatalf("stop --force of a frozen container: exit %d: %s", code, stderr)
	}
	requireStatus(t, d, name, "STOPPED")
	mustLite(t, d, "delete", name)
}

// TestSnapshotKillThaws SIGKILLs lited while a snapshot has the container frozen: the next
// lited thaws it, so exec, stop and start work again.
func TestSnapshotKillThaws(t *testing.T) {
	d := startDaemon(t)
	const name = "robust-thaw"
	mustLite(t, d, "launch", "debian/12", name)
	mustLite(t, d, "exec", name, "--", "dd", "if=/dev/zero", "of=/root/big", "bs=1M", "count=300", "status=none")
	done := make(chan struct{})
	go func() {
		d.Lite("snapshot", name, "s1")
		close(done)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for lxcState(d, name) != "FROZEN" {
		if time.Now().After(deadline) {
			t.Fatal("never saw the container frozen during the snapshot")
		}
		time.Sleep(5 * time.Millisecond)
	}
	d.Kill(t)
	<-done
	if st := lxcState(d, name); st != "FROZEN" {
		t.Logf("the container thawed on its own before the restart (%s)", st)
	}
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	if st := lxcState(d, name); st != "RUNNING" {
		t.Fatalf("after the restart the container is %s, want RUNNING", st)
	}
	if out := mustLite(t, d, "exec", name, "--", "echo", "thawed"); out != "thawed\n" {
		t.Errorf("exec after the restart: %q", out)
	}
	mustLite(t, d, "stop", "--force", name)
	mustLite(t, d, "start", name)
	mustLite(t, d, "delete", "--force", name)
}
