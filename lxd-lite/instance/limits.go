package instance

import (
	"fmt"
	"strconv"
	"strings"

	"lite/client/api"
	"lite/profiles"
)

// CgroupHost is what turning limits.* keys into cgroup settings needs to know of the host:
// which controllers are mounted as cgroup v1 and which are on the unified (v2) hierarchy (a
// hybrid host has both), its CPUs and its memory.
type CgroupHost struct {
	V1          map[string]bool // controllers on a v1 hierarchy (cpu, cpuset, memory, pids, blkio...)
	V2          map[string]bool // controllers enabled on the unified hierarchy
	CPUs        int             // online CPUs, numbered 0..CPUs-1
	MemoryBytes int64           // the host's RAM
	BlkioWeight string          // the v1 blkio weight file ("blkio.weight", "blkio.bfq.weight"), "" when absent
}

// cgroupKey is one cgroup setting in lxc's terms ("lxc.cgroup.memory.limit_in_bytes") with
// the value that undoes it, used when a limit is removed from a running container.
type cgroupKey struct{ key, reset string }

// key returns the lxc key for a v1 file or its v2 counterpart, by where the controller lives.
func (h CgroupHost) key(ctrl, v1file, v1reset, v2file, v2reset string) (cgroupKey, bool) {
	switch {
	case h.V1[ctrl] && v1file != "":
		return cgroupKey{"lxc.cgroup." + v1file, v1reset}, true
	case h.V2[ctrl] && v2file != "":
		return cgroupKey{"lxc.cgroup2." + v2file, v2reset}, true
	}
	return cgroupKey{}, false
}

// allCPUs is the cpuset of every host CPU.
func (h CgroupHost) allCPUs() string {
	if h.CPUs <= 1 {
		return "0"
	}
	return fmt.Sprintf("0-%d", h.CPUs-1)
}

// cgroupLimits turns an expanded config's limits.* keys into cgroup settings: lxc key ->
// value, for the keys that are set, plus resets: lxc key -> the value that removes the limit,
// for every key lite manages on this host. Choices (as documented in the issue):
//   - limits.cpu=N pins the container to the first N CPUs (cpuset 0-(N-1)); a count of all
//     CPUs or more is no pinning. A set (0-1,3) is used as given, and must exist on the host.
//   - limits.cpu.allowance=P% is a weight under contention (cpu.shares 1024×P/100);
//     Q ms/T ms is a hard quota (cfs quota/period, or cpu.max on v2).
//   - limits.cpu.priority (0-10, default 10) lowers that weight: priority 0 halves it.
//   - limits.memory.enforce=soft uses the soft limit (memory.high on v2) instead of the hard one.
//   - limits.memory.swap=false sets swappiness 0 (v1) or memory.swap.max 0 (v2).
//   - limits.disk.priority (0-10) is the blkio/io weight 10 + 99×priority (10..1000), which
//     the disk's I/O scheduler honours when it is BFQ (or CFQ on old kernels).
func cgroupLimits(cfg map[string]string, h CgroupHost) (set, resets map[string]string, err error) {
	l := &limitSet{set: map[string]string{}, resets: map[string]string{}}
	for _, step := range []func(map[string]string, CgroupHost, *limitSet) error{memoryLimits, cpuLimits, ioLimits} {
		if err := step(cfg, h, l); err != nil {
			return nil, nil, err
		}
	}
	l.put(h.key("pids", "pids.max", "max", "pids.max", "max"))(cfg["limits.processes"])
	return l.set, l.resets, nil
}

// limitSet collects cgroup settings and the values that undo them.
type limitSet struct{ set, resets map[string]string }

// put returns a setter for key k (a no-op when the host lacks it); "" sets nothing but still
// records the reset, so a removed limit is undone live.
func (l *limitSet) put(k cgroupKey, ok bool) func(v string) {
	return func(v string) {
		if !ok {
			return
		}
		l.resets[k.key] = k.reset
		if v != "" {
			l.set[k.key] = v
		}
	}
}

// badKey is the error for a config value the limits cannot use.
func badKey(key string, e error) error {
	return fmt.Errorf("config key %q: %v: %w", key, e, api.ErrInvalid)
}

// memoryLimits handles limits.memory, limits.memory.enforce and limits.memory.swap.
func memoryLimits(cfg map[string]string, h CgroupHost, l *limitSet) error {
	var mem string
	if v := cfg["limits.memory"]; v != "" {
		n, err := memoryBytes(v, h.MemoryBytes)
		if err != nil {
			return badKey("limits.memory", err)
		}
		mem = strconv.FormatInt(n, 10)
	}
	hard, soft := mem, ""
	if cfg["limits.memory.enforce"] == "soft" {
		hard, soft = "", mem
	}
	l.put(h.key("memory", "memory.limit_in_bytes", "-1", "memory.max", "max"))(hard)
	l.put(h.key("memory", "memory.soft_limit_in_bytes", "-1", "memory.high", "max"))(soft)
	swap := ""
	if v := cfg["limits.memory.swap"]; v != "" && !profiles.IsTrue(v) {
		swap = "0"
	}
	l.put(h.key("memory", "memory.swappiness", "60", "memory.swap.max", "max"))(swap)
	return nil
}

// cpuLimits handles limits.cpu, limits.cpu.allowance and limits.cpu.priority.
func cpuLimits(cfg map[string]string, h CgroupHost, l *limitSet) error {
	cpus, err := cpuSet(cfg["limits.cpu"], h)
	if err != nil {
		return badKey("limits.cpu", err)
	}
	all := h.allCPUs()
	if cpus == all {
		cpus = ""
	}
	l.put(h.key("cpuset", "cpuset.cpus", all, "cpuset.cpus", all))(cpus)
	shares, quota, period := 1024, int64(-1), int64(100000)
	if v := cfg["limits.cpu.allowance"]; v != "" {
		a, err := profiles.ParseCPUAllowance(v)
		if err != nil {
			return badKey("limits.cpu.allowance", err)
		}
		if a.Percent > 0 {
			shares = 1024 * a.Percent / 100
		} else {
			quota, period = a.Quota, a.Period
		}
	}
	if v := cfg["limits.cpu.priority"]; v != "" {
		p, err := profiles.ParsePriority(v)
		if err != nil {
			return badKey("limits.cpu.priority", err)
		}
		shares -= shares * (10 - p) / 20
	}
	shares = max(shares, 2)
	switch {
	case h.V1["cpu"]:
		weight, q, p := "", "", ""
		if shares != 1024 {
			weight = strconv.Itoa(shares)
		}
		if quota > 0 {
			q, p = strconv.FormatInt(quota, 10), strconv.FormatInt(period, 10)
		}
		l.put(cgroupKey{"lxc.cgroup.cpu.shares", "1024"}, true)(weight)
		l.put(cgroupKey{"lxc.cgroup.cpu.cfs_period_us", "100000"}, true)(p)
		l.put(cgroupKey{"lxc.cgroup.cpu.cfs_quota_us", "-1"}, true)(q)
	case h.V2["cpu"]:
		weight, m := "", ""
		if shares != 1024 {
			weight = strconv.Itoa(max(1, min(10000, shares*100/1024)))
		}
		if quota > 0 {
			m = fmt.Sprintf("%d %d", quota, period)
		}
		l.put(cgroupKey{"lxc.cgroup2.cpu.weight", "100"}, true)(weight)
		l.put(cgroupKey{"lxc.cgroup2.cpu.max", "max 100000"}, true)(m)
	}
	return nil
}

// ioLimits handles limits.disk.priority.
func ioLimits(cfg map[string]string, h CgroupHost, l *limitSet) error {
	weight := ""
	if v := cfg["limits.disk.priority"]; v != "" {
		p, err := profiles.ParsePriority(v)
		if err != nil {
			return badKey("limits.disk.priority", err)
		}
		weight = strconv.Itoa(10 + 99*p)
	}
	switch {
	case h.V1["blkio"] && h.BlkioWeight != "":
		reset := "500" // CFQ's default weight
		if h.BlkioWeight == "blkio.bfq.weight" {
			reset = "100" // BFQ's
		}
		l.put(cgroupKey{"lxc.cgroup." + h.BlkioWeight, reset}, true)(weight)
	case h.V2["io"]:
		l.put(cgroupKey{"lxc.cgroup2.io.weight", "100"}, true)(weight)
	}
	return nil
}

// memoryBytes reads limits.memory: a size, or a percentage of the host's memory.
func memoryBytes(v string, host int64) (int64, error) {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 100 {
			return 0, fmt.Errorf("%q is not a percentage from 1%% to 100%%", v)
		}
		if host <= 0 {
			return 0, fmt.Errorf("%q: the host's memory size is unknown, give a size", v)
		}
		return host * int64(n) / 100, nil
	}
	return profiles.ParseSize(v)
}

// cpuSet returns the cpuset for limits.cpu ("" when unset).
func cpuSet(v string, h CgroupHost) (string, error) {
	if v == "" {
		return "", nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 1 {
			return "", fmt.Errorf("%q: a CPU count must be at least 1", v)
		}
		if n >= h.CPUs {
			return h.allCPUs(), nil
		}
		if n == 1 {
			return "0", nil
		}
		return fmt.Sprintf("0-%d", n-1), nil
	}
	if err := profiles.IsCPULimit(v); err != nil {
		return "", err
	}
	for _, part := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, _ := strconv.Atoi(lo)
		b := a
		if isRange {
			b, _ = strconv.Atoi(hi)
		}
		if b < a {
			return "", fmt.Errorf("%q: range %s runs backwards", v, part)
		}
		if b >= h.CPUs {
			return "", fmt.Errorf("%q: CPU %d does not exist on this host (it has %s)", v, b, h.allCPUs())
		}
	}
	return v, nil
}
