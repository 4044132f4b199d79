package test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDaemonShutdownEndsExec sends SIGTERM to lited while `lite exec` runs a long command:
// lited cancels the exec operation, kills the command and exits within its bound; the client
// ends; the container keeps running; a restarted lited serves it as before.
func TestDaemonShutdownEndsExec(t *testing.T) {
	d := startDaemon(t)
	const name = "shut1"
	mustLite(t, d, "launch", "debian/12", name)
	waitRunning(t, d, name)
	pid := initPid(t, d, name)

	// An argument no other process on this shared host has.
	arg := fmt.Sprintf("90000.%d", os.Getpid())
	cmd := exec.Command(liteBin, "exec", name, "--", "sleep", arg)
	cmd.Env = append(os.Environ(), "LITE_DIR="+d.Dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed once cmd is reaped; waitErr is then set
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	sleeping := func() []int {
		var pids []int
		for p, cmdline := range processes() {
			if cmdline == "sleep "+arg {
				pids = append(pids, p)
			}
		}
		return pids
	}
	eventually(t, time.Minute, "the exec'd sleep to run", func() (bool, string) {
		return len(sleeping()) == 1, fmt.Sprint(sleeping())
	})

	began := time.Now()
	if err := d.signal(syscall.SIGTERM, 30*time.Second); err != nil {
		t.Fatalf("lited with an exec running: %v", err)
	}
	t.Logf("lited exited %s after SIGTERM with an exec running", time.Since(began).Round(time.Millisecond))
	select {
	case <-exited:
		if waitErr == nil {
			t.Errorf("lite exec exited 0 although lited killed its command; output %q", out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("lite exec still runs 30 s after lited exited; output %q", out.String())
	}
	eventually(t, 30*time.Second, "the exec'd sleep to be gone", func() (bool, string) {
		return len(sleeping()) == 0, fmt.Sprint(sleeping())
	})
	if !procAlive(pid) {
		t.Fatalf("stopping lited killed the container: init pid %d is gone", pid)
	}

	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	requireStatus(t, d, name, "RUNNING")
	if got := mustLite(t, d, "exec", name, "--", "echo", "back"); strings.TrimSpace(got) != "back" {
		t.Errorf("exec after the restart: %q", got)
	}
}
