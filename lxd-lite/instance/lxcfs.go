package instance

import (
	"context"
	"os"
	"path/filepath"
)

// lxcfsFiles are the files lxcfs virtualises that lite mounts over the container's own:
// /proc's memory, CPU, uptime and load views, and the list of online CPUs. nproc reads the
// CPU affinity (the cpuset) and needs none of them; free, top, uptime and /proc/cpuinfo do.
var lxcfsFiles = []string{
	"proc/cpuinfo", "proc/meminfo", "proc/stat", "proc/uptime", "proc/loadavg",
	"proc/diskstats", "proc/swaps", "sys/devices/system/cpu/online",
}

// lxcfsMounts returns bind mounts of lxcfs's files under dir, for those it serves.
func lxcfsMounts(dir string) []Mount {
	if dir == "" {
		return nil
	}
	var out []Mount
	for _, f := range lxcfsFiles {
		src := filepath.Join(dir, f)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		out = append(out, Mount{Source: src, Path: "/" + f, Optional: true})
	}
	return out
}

// AnyRunning reports whether any instance runs (or its state cannot be read, to be safe).
func (m *Manager) AnyRunning(ctx context.Context) bool {
	list, err := m.localInstances(ctx)
	if err != nil {
		return true
	}
	for _, inst := range list {
		st, err := m.rt.State(ctx, inst.Name)
		if err != nil || st.Running {
			return true
		}
	}
	return false
}
