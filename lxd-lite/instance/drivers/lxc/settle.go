package lxc

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SettleStarts waits (up to limit) for the lxc-start processes of this lxcpath that a
// previous lited left to end, then removes the cgroups of those that failed. lxc-start runs
// in its own session, so it outlives a lited killed mid-start and goes on making the
// container's veth and cgroups, or undoing them when it fails: what lited checks against the
// host when it starts (nic filters of veths that are gone) must be read after that, and no
// lited was there to clean up after a failure. It returns how many there were and how many
// still run.
func (d *Driver) SettleStarts(ctx context.Context, limit time.Duration) (found, left int) {
	names := map[string]bool{}
	pids := procsWhere(func(cmdline []byte) bool {
		name, ok := startUnder(cmdline, d.LXCPath)
		if ok {
			names[name] = true
		}
		return ok
	})
	found = len(pids)
	for deadline := time.Now().Add(limit); len(pids) > 0 && time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(20 * time.Millisecond) {
		var still []string
		for _, pid := range pids {
			if b, err := os.ReadFile("/proc/" + pid + "/cmdline"); err == nil {
				if _, ok := startUnder(b, d.LXCPath); ok {
					still = append(still, pid)
				}
			}
		}
		pids = still
	}
	if len(pids) > 0 {
		return found, len(pids)
	}
	for name := range names {
		if st, err := d.State(ctx, name); err == nil && !st.Running {
			if err := d.removeFailedStartCgroups(name); err != nil {
				d.warn("remove cgroups of a start a previous lited began", "instance", name, "err", err)
			}
		}
	}
	return found, 0
}

// startUnder tells whether a /proc cmdline is Start's, lxc-start -P lxcPath -n NAME ..., and
// returns NAME (liblxc's monitor renames itself "[lxc monitor] ...", so a running
// container's is not).
func startUnder(cmdline []byte, lxcPath string) (string, bool) {
	args := strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00")
	if filepath.Base(args[0]) != "lxc-start" {
		return "", false
	}
	var path, name string
	for i := 1; i+1 < len(args); i++ {
		switch args[i] {
		case "-P":
			path = args[i+1]
		case "-n":
			name = args[i+1]
		}
	}
	return name, path == lxcPath && name != ""
}

// procsWhere returns the pids of the processes whose /proc cmdline match accepts.
func procsWhere(match func(cmdline []byte) bool) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && match(b) {
			out = append(out, e.Name())
		}
	}
	return out
}

// titleOf is a cmdline as one line, NULs as spaces: how liblxc's monitor names itself.
func titleOf(cmdline []byte) string {
	return strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
}
