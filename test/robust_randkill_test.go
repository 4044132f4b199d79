package test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// checkConsistent compares what lited says with the disk and the host after a restart:
// every instance has its directory and every directory its instance, no temporary entry is
// left, the snapshots listed are the snapshot directories, nothing is frozen or marked
// frozen, every running instance has one monitor and the stopped ones none, and no mount
// is left under the state dir.
func checkConsistent(t *testing.T, d *Daemon, when string) {
	t.Helper()
	ctx := t.Context()
	names, err := d.instanceNames()
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	containers := filepath.Join(d.Dir, "containers")
	var dirs []string
	for _, e := range dirEntries(containers) {
		if strings.HasPrefix(e, ".") {
			t.Errorf("%s: temporary %s left in containers/", when, e)
			continue
		}
		dirs = append(dirs, e)
	}
	slices.Sort(names)
	slices.Sort(dirs)
	if !slices.Equal(names, dirs) {
		t.Errorf("%s: instances %v but directories %v", when, names, dirs)
	}
	c := d.Client(t)
	for _, n := range names {
		snaps, err := c.GetInstanceSnapshots(ctx, n)
		if err != nil {
			t.Errorf("%s: snapshots of %s: %v", when, n, err)
			continue
		}
		var listed []string
		for _, s := range snaps {
			listed = append(listed, s.Name)
		}
		onDisk := dirEntries(filepath.Join(containers, n, "snapshots"))
		slices.Sort(listed)
		slices.Sort(onDisk)
		if !slices.Equal(listed, onDisk) && !(len(listed) == 0 && len(onDisk) == 0) {
			t.Errorf("%s: %s lists snapshots %v, disk has %v", when, n, listed, onDisk)
		}
		if _, err := os.Stat(filepath.Join(containers, n, "frozen-by-lited")); err == nil {
			t.Errorf("%s: %s still marked frozen after the restart", when, n)
		}
		st := lxcState(d, n)
		if st == "FROZEN" || st == "FREEZING" {
			t.Errorf("%s: %s is %s after the restart", when, n, st)
		}
		want := 0
		if st == "RUNNING" {
			want = 1
		}
		if m := monitorsOf(containers, n); len(m) != want {
			t.Errorf("%s: %s is %s with monitors %v", when, n, st, m)
		}
	}
	if m := strayMounts(d.Dir); len(m) > 0 {
		t.Errorf("%s: mounts left under the state dir: %v", when, m)
	}
}

// TestKillAtRandomPoints SIGKILLs lited at a random moment of a snapshot, a copy (both of a
// running container, which they freeze) and a delete, again and again; after each restart
// the state is consistent (checkConsistent) and the survivors work.
func TestKillAtRandomPoints(t *testing.T) {
	d := startDaemon(t)
	const src = "rk-src"
	mustLite(t, d, "launch", "debian/12", src)
	mustLite(t, d, "exec", src, "--", "dd", "if=/dev/zero", "of=/root/big", "bs=1M", "count=100", "status=none")
	ops := []struct {
		what string
		prep []string // run (and required to succeed) before the op
		args []string
	}{
		{"snapshot", nil, []string{"snapshot", src}},
		{"copy", nil, []string{"copy", src, "rk-copy"}},
		{"delete", []string{"copy", src, "rk-del"}, []string{"delete", "rk-del"}},
	}
	for round := 0; round < 2; round++ {
		for _, op := range ops {
			names, err := d.instanceNames()
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"rk-copy", "rk-del"} {
				if slices.Contains(names, n) && !(op.what == "delete" && n == "rk-del") {
					mustLite(t, d, "delete", "--force", n)
				}
			}
			if op.prep != nil && !slices.Contains(names, "rk-del") {
				mustLite(t, d, op.prep...)
			}
			delay := time.Duration(rand.IntN(1500)) * time.Millisecond
			when := fmt.Sprintf("round %d, kill %s after %s", round, op.what, delay)
			from := d.logSize()
			done := make(chan struct{})
			go func() {
				d.Lite(op.args...)
				close(done)
			}()
			time.Sleep(delay) // where the kill lands is the random input, not an assertion
			d.Kill(t)
			<-done
			if err := d.start(); err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			checkConsistent(t, d, when)
			if strings.Contains(d.readLog(from), "thawing an instance") {
				t.Logf("%s: the restarted lited thawed %s", when, src)
			}
			if out := mustLite(t, d, "exec", src, "--", "echo", "ok"); out != "ok\n" {
				t.Errorf("%s: exec in %s: %q", when, src, out)
			}
		}
	}
	names, err := d.instanceNames()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n != src {
			mustLite(t, d, "start", n)
		}
		mustLite(t, d, "delete", "--force", n)
	}
}
