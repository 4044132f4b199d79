package instance

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// DetectCgroups reads the host's cgroup layout from /proc/self/cgroup and /sys/fs/cgroup, its
// CPUs from /sys/devices/system/cpu/online and its memory from /proc/meminfo.
func DetectCgroups() CgroupHost {
	h := CgroupHost{V1: map[string]bool{}, V2: map[string]bool{}, CPUs: onlineCPUs()}
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			parts := strings.SplitN(line, ":", 3)
			if len(parts) != 3 || parts[0] == "0" {
				continue
			}
			for _, c := range strings.Split(parts[1], ",") {
				if c != "" && !strings.HasPrefix(c, "name=") {
					h.V1[c] = true
				}
			}
		}
	}
	for _, f := range []string{"/sys/fs/cgroup/cgroup.controllers", "/sys/fs/cgroup/unified/cgroup.controllers"} {
		if b, err := os.ReadFile(f); err == nil {
			for _, c := range strings.Fields(string(b)) {
				if !h.V1[c] {
					h.V2[c] = true
				}
			}
			break
		}
	}
	// The root blkio cgroup has no BFQ weight file, only BFQ's statistics; its children
	// (the containers' cgroups) have blkio.bfq.weight then.
	if _, err := os.Stat("/sys/fs/cgroup/blkio/blkio.weight"); err == nil {
		h.BlkioWeight = "blkio.weight"
	} else if _, err := os.Stat("/sys/fs/cgroup/blkio/blkio.bfq.io_serviced"); err == nil {
		h.BlkioWeight = "blkio.bfq.weight"
	}
	h.MemoryBytes = memTotal()
	return h
}

// onlineCPUs counts the CPUs in /sys/devices/system/cpu/online ("0-1", "0,2-3").
func onlineCPUs() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return 1
	}
	n := 0
	for _, part := range strings.Split(strings.TrimSpace(string(b)), ",") {
		lo, hi, ok := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		z := a
		var err2 error
		if ok {
			z, err2 = strconv.Atoi(hi)
		}
		if err1 == nil && err2 == nil && z >= a {
			n = max(n, z+1)
		}
	}
	return max(n, 1)
}

// memTotal returns MemTotal from /proc/meminfo in bytes (0 when unknown).
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}
