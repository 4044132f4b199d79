package test

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDaemonCrash kills lited with SIGKILL under a running container: the container keeps
// running, and a new lited adopts it (list, exec, stop) and sweeps away a half-made create.
// It uses a daemon of its own so the other tests never see lited die.
func TestDaemonCrash(t *testing.T) {
	d := startDaemon(t)
	const name = "crash1" // not web1: the shared daemon's web1 may run at the same time
	mustLite(t, d, "launch", "debian/12", name)
	waitRunning(t, d, name)
	pid := initPid(t, d, name)

	d.Kill(t)
	if !procAlive(pid) {
		t.Fatalf("killing lited killed the container too: init pid %d is gone", pid)
	}
	if _, stderr, code := d.Lite("list"); code == 0 {
		t.Fatalf("lite list succeeded with lited killed: the harness did not kill it (%s)", stderr)
	}
	if m := monitorsOf(filepath.Join(d.Dir, "containers"), name); len(m) != 1 {
		t.Errorf("with lited down: lxc monitors of %s: %q, want one", name, m)
	}

	// A create cut short by the crash: a directory with no database row.
	ghost := filepath.Join(d.Dir, "containers", "ghost")
	for _, sub := range []string{"upper/etc", "work"} {
		if err := os.MkdirAll(filepath.Join(ghost, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(ghost, "upper/etc/hostname"), []byte("ghost\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	d.Restart(t)
	if !procAlive(pid) {
		t.Fatalf("restarting lited killed the container: init pid %d is gone", pid)
	}
	requireStatus(t, d, name, "RUNNING")
	if got := initPid(t, d, name); got != pid {
		t.Errorf("after the restart lite reports init pid %d, want the surviving %d", got, pid)
	}
	if out := mustLite(t, d, "exec", name, "--", "echo", "adopted"); out != "adopted\n" {
		t.Errorf("exec after the restart: %q", out)
	}
	if _, err := os.Stat(ghost); !os.IsNotExist(err) {
		t.Errorf("the half-made container dir %s survived the restart (%v)", ghost, err)
	}
	if st := status(t, d, "ghost"); st != "" {
		t.Errorf("lite list shows ghost as %q", st)
	}

	// A clean restart of lited leaves the container alone too.
	d.Restart(t)
	if got := initPid(t, d, name); got != pid || !procAlive(pid) {
		t.Errorf("after a clean lited restart: init pid %d (alive %v), want %d", got, procAlive(pid), pid)
	}

	mustLite(t, d, "stop", name)
	requireStatus(t, d, name, "STOPPED")
	eventually(t, 30*time.Second, "the old init to be gone", func() (bool, string) {
		return !procAlive(pid), "alive"
	})
	if m := monitorsOf(filepath.Join(d.Dir, "containers"), name); len(m) != 0 {
		t.Errorf("after stop: lxc monitor still running: %q", m)
	}
	mustLite(t, d, "start", name)
	requireStatus(t, d, name, "RUNNING")
}
