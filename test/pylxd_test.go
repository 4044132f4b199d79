package test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// debianPython is Debian's python3, which has the python3-pylxd and ansible packages (a
// python3 earlier on PATH, a pyenv one say, does not).
const debianPython = "/usr/bin/python3"

// TestPylxd runs testdata/pylxd_flow.py with Debian's pylxd 2.2 against lited: create, start,
// state, exec with exit code and separate streams, files, snapshots, images (publish, export,
// upload, aliases), profiles,
// networks, operations, events and delete, through /1.0/containers (and a check that
// /1.0/instances answers the same, for newer pylxd). Then checks with lite that nothing is left.
func TestPylxd(t *testing.T) {
	d := sharedDaemon(t)
	if err := exec.Command(debianPython, "-c", "import pylxd, ws4py").Run(); err != nil {
		t.Fatalf("Debian's pylxd is missing (scripts/install-deps.sh --test installs python3-pylxd): %v", err)
	}
	deleteOnCleanup(t, d, "pylxd1")
	deleteProfileOnCleanup(t, d, "pylxdprof")
	t.Cleanup(func() { _, _, _ = d.Lite("image", "delete", "pylxd-img") })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	script, err := filepath.Abs(filepath.Join("testdata", "pylxd_flow.py"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, debianPython, "-W", "ignore", script, "pylxd1", "debian/12", d.Net)
	// pylxd 2.2 finds the socket as $LXD_DIR/unix.socket.
	cmd.Env = append(os.Environ(), "LXD_DIR="+d.Dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "pylxd flow: OK") {
		t.Fatalf("pylxd flow: %v\n%s", err, out)
	}
	if out := mustLite(t, d, "list", "--format", "csv", "-c", "n"); strings.Contains(out, "pylxd1") {
		t.Errorf("pylxd deleted pylxd1, but lite still lists it: %q", out)
	}
	if _, _, code := d.Lite("profile", "show", "pylxdprof"); code == 0 {
		t.Error("pylxd deleted profile pylxdprof, but lite still shows it")
	}
}
