package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitFor polls until some path matching pattern exists (the operation is under way).
func waitFor(t *testing.T, pattern string) bool {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

// TestSnapshotKillMidway SIGKILLs lited while a snapshot, a copy and an import of a container
// with 100 MB of its own are being written. Whenever the kill lands, after the restart each
// is either complete or absent, and no temporary directory is left.
func TestSnapshotKillMidway(t *testing.T) {
	d := startDaemon(t)
	mustLite(t, d, "init", "debian/12", "kill-a")
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, make([]byte, 100<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	mustLite(t, d, "file", "push", big, "kill-a/root/big")
	backup := filepath.Join(t.TempDir(), "kill-a.tar")
	mustLite(t, d, "export", "--instance-only", "kill-a", backup)
	containers := filepath.Join(d.Dir, "containers")
	for _, tc := range []struct {
		what    string
		args    []string
		started string // a path that exists once the work is under way
	}{
		{"snapshot", []string{"snapshot", "kill-a", "s1"}, filepath.Join(containers, "kill-a", "snapshots", ".tmp-*")},
		{"copy", []string{"copy", "kill-a", "kill-b"}, filepath.Join(containers, "kill-b")},
		{"import", []string{"import", backup, "kill-c"}, filepath.Join(containers, ".tmp-import-*", "u", "rootfs")},
	} {
		done := make(chan struct{})
		go func() {
			d.Lite(tc.args...)
			close(done)
		}()
		if !waitFor(t, tc.started) {
			t.Fatalf("%s: never saw %s", tc.what, tc.started)
		}
		d.Kill(t)
		<-done
		d.Restart(t)
		names, err := d.instanceNames()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("after a kill mid-%s: instances %v", tc.what, names)
		entries, _ := os.ReadDir(containers)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("%s: %s left after the restart", tc.what, e.Name())
			} else if !strings.Contains(","+strings.Join(names, ",")+",", ","+e.Name()+",") {
				t.Errorf("%s: directory %s has no instance", tc.what, e.Name())
			}
		}
		snaps, _ := os.ReadDir(filepath.Join(containers, "kill-a", "snapshots"))
		for _, s := range snaps {
			if strings.HasPrefix(s.Name(), ".") {
				t.Errorf("%s: snapshot temp dir %s left", tc.what, s.Name())
			}
		}
		// What exists works: the snapshot restores, a copy or import starts.
		if len(snaps) == 1 {
			mustLite(t, d, "restore", "kill-a", "s1")
		}
		for _, n := range names {
			if n != "kill-a" {
				mustLite(t, d, "start", n)
				mustLite(t, d, "delete", "--force", n)
			}
		}
	}
	mustLite(t, d, "delete", "kill-a")
}
