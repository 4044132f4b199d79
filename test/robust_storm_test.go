package test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"
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
