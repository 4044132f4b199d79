package lxc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"lite/lxd-lite/atomicfile"
	"lite/lxd-lite/instance"
)

// A list asks every container's state. Through liblxc that is a config parse and about
// seven round trips to the container's monitor (state, init pid, then one per cgroup
// file to learn its path), which made `lite list` cost ~3.5 ms a container on a quiet
// host. Start records the init's pid and start time, and the container's cgroup
// directories (cgroups.go): while that init runs, State reads /proc and the cgroup files
// itself and never wakes the monitor. Anything it cannot tell (no record, another init:
// stopped, rebooted inside, started by hand) goes to liblxc, which has the last word.

// initRecord is where Start notes the container's init: "PID STARTTIME" (field 22 of
// /proc/PID/stat), which no later process with the same pid shares.
func (d *Driver) initRecord(name string) string {
	return filepath.Join(d.LXCPath, name, "init")
}

// recordInit notes pid as the container's init, and its cgroups with it.
func (d *Driver) recordInit(name string, pid int) error {
	if err := d.recordCgroups(name, pid); err != nil {
		return err
	}
	start, ok := procStartTime(pid)
	if !ok {
		return fmt.Errorf("init %d of %q is gone", pid, name)
	}
	return atomicfile.WriteFile(d.initRecord(name), fmt.Appendf(nil, "%d %s\n", pid, start), 0o600)
}

// procStartTime returns the start time of a live (not zombie) process.
func procStartTime(pid int) (string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", false
	}
	// The command name (field 2) may hold spaces and parentheses: count from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return "", false
	}
	return f[19], true
}

// recordedInit returns the init pid Start recorded, if that same process still runs.
func (d *Driver) recordedInit(name string) (int, bool) {
	b, err := os.ReadFile(d.initRecord(name))
	if err != nil {
		return 0, false
	}
	var pid int
	var start string
	if _, err := fmt.Sscanf(string(b), "%d %s", &pid, &start); err != nil || pid <= 0 {
		return 0, false
	}
	now, ok := procStartTime(pid)
	return pid, ok && now == start
}

// cgroupFiles are the recorded cgroup directories by what they hold.
type cgroupFiles struct{ memory, cpuacct, pids, freezer, unified string }

// unifiedOnly reports whether the host mounts only cgroup v2, at cgroupRoot itself.
var unifiedOnly = sync.OnceValue(func() bool {
	var st unix.Statfs_t
	return unix.Statfs(cgroupRoot, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
})

// classify sorts the recorded directories: /sys/fs/cgroup/<hierarchy>/.../lxc.payload.NAME,
// where a v1 hierarchy is named by its controllers and the v2 one is "unified" on a hybrid
// host; on a v2-only host (v2only) every one is v2.
func classify(dirs []string, v2only bool) cgroupFiles {
	var c cgroupFiles
	for _, dir := range dirs {
		hier, _, _ := strings.Cut(strings.TrimPrefix(dir, cgroupRoot+"/"), "/")
		if v2only || hier == "unified" {
			c.unified = dir
			continue
		}
		for _, ctl := range strings.Split(hier, ",") {
			switch ctl {
			case "memory":
				c.memory = dir
			case "cpuacct":
				c.cpuacct = dir
			case "pids":
				c.pids = dir
			case "freezer":
				c.freezer = dir
			}
		}
	}
	return c
}

// liveCgroups returns the recorded init and cgroup directories of a container, if the
// init Start recorded still runs (ok false: only liblxc can tell).
func (d *Driver) liveCgroups(name string) (int, cgroupFiles, bool) {
	pid, ok := d.recordedInit(name)
	if !ok {
		return 0, cgroupFiles{}, false
	}
	dirs, err := d.recordedCgroups(name)
	if err != nil {
		return 0, cgroupFiles{}, false
	}
	return pid, classify(dirs, unifiedOnly()), true
}

// fastState is State from /proc and the cgroup files, for a container whose recorded init
// still runs; ok is false when it cannot tell.
func (d *Driver) fastState(name string) (instance.RunState, bool) {
	pid, c, ok := d.liveCgroups(name)
	if !ok {
		return instance.RunState{}, false
	}
	rs := instance.RunState{Running: true, Pid: pid}
	// The freezer says whether it runs at all, so without it liblxc must answer.
	switch {
	case c.freezer != "":
		v, ok := readTrimmed(c.freezer, "freezer.state")
		if !ok {
			return instance.RunState{}, false
		}
		// FREEZING counts as frozen, as in State: nothing in it runs, and it needs a thaw.
		rs.Frozen = v != "THAWED"
	case c.unified != "":
		v, ok := readTrimmed(c.unified, "cgroup.freeze")
		if !ok {
			return instance.RunState{}, false
		}
		rs.Frozen = v == "1"
	default:
		return instance.RunState{}, false
	}
	if c.memory != "" {
		rs.MemUsage = readInt(c.memory, "memory.usage_in_bytes")
		rs.MemPeak = readInt(c.memory, "memory.max_usage_in_bytes")
	} else if c.unified != "" {
		rs.MemUsage = readInt(c.unified, "memory.current")
		rs.MemPeak = readInt(c.unified, "memory.peak")
	}
	if c.cpuacct != "" {
		rs.CPUNs = readInt(c.cpuacct, "cpuacct.usage")
	} else if c.unified != "" {
		rs.CPUNs = cpuStatUsec(c.unified) * 1000
	}
	if c.pids != "" {
		rs.Processes = readInt(c.pids, "pids.current")
	} else if c.unified != "" {
		rs.Processes = readInt(c.unified, "pids.current")
	}
	return rs, true
}

func readTrimmed(dir, file string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

// readInt reads a one-number cgroup file (0 when it is missing or not a number, as a
// counter liblxc cannot read).
func readInt(dir, file string) int64 {
	v, _ := readTrimmed(dir, file)
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// cpuStatUsec reads usage_usec from a v2 cpu.stat.
func cpuStatUsec(dir string) int64 {
	v, _ := readTrimmed(dir, "cpu.stat")
	for _, l := range strings.Split(v, "\n") {
		if n, ok := strings.CutPrefix(l, "usage_usec "); ok {
			u, _ := strconv.ParseInt(n, 10, 64)
			return u
		}
	}
	return 0
}

// detachRootfs removes the host's view of a running container's root filesystem that the
// reboot hook (config.go) mounted when the container started again: the container has its
// own copy, and no host mount stays while containers run, as after a start by lite.
func (d *Driver) detachRootfs(name string) {
	target := filepath.Join(d.LXCPath, name, "rootfs")
	for range 8 {
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
			if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				d.warn("detach the host view of a rebooted container's root", "instance", name, "err", err)
			}
			return
		}
	}
}
