package lxc

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// SettleStarts waits (up to limit) for the lxc-start processes of this lxcpath that a
// previous lited left to end. lxc-start runs in its own session, so it outlives a lited
// killed mid-start and goes on making the container's veth and cgroups, or undoing them when
// it fails: what lited checks against the host when it starts (nic filters of veths that are
// gone) must be read after that. It returns how many there were and how many still run.
func (d *Driver) SettleStarts(ctx context.Context, limit time.Duration) (found, left int) {
	deadline := time.Now().Add(limit)
	found = len(startsUnder(d.LXCPath))
	for left = found; left > 0 && time.Now().Before(deadline) && ctx.Err() == nil; left = len(startsUnder(d.LXCPath)) {
		time.Sleep(20 * time.Millisecond)
	}
	return found, left
}

// startsUnder returns the pids of the lxc-start processes running with -P lxcPath.
func startsUnder(lxcPath string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && isStartUnder(cmdline, lxcPath) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// isStartUnder tells whether a /proc cmdline is Start's: lxc-start -P lxcPath ... (liblxc's
// monitor renames itself "[lxc monitor] ...", so a running container's is not).
func isStartUnder(cmdline []byte, lxcPath string) bool {
	args := bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})
	if len(args) < 3 || filepath.Base(string(args[0])) != "lxc-start" {
		return false
	}
	for i := 1; i+1 < len(args); i++ {
		if string(args[i]) == "-P" {
			return string(args[i+1]) == lxcPath
		}
	}
	return false
}
