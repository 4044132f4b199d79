package instance

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"lite/client/api"
)

var (
	hybrid = CgroupHost{
		V1:   map[string]bool{"cpu": true, "cpuacct": true, "cpuset": true, "memory": true, "pids": true, "blkio": true, "devices": true},
		V2:   map[string]bool{},
		CPUs: 4, MemoryBytes: 8 << 30, BlkioWeight: "blkio.bfq.weight",
	}
	pureV2 = CgroupHost{
		V1:   map[string]bool{},
		V2:   map[string]bool{"cpu": true, "cpuset": true, "memory": true, "pids": true, "io": true},
		CPUs: 2, MemoryBytes: 4 << 30,
	}
)

func TestCgroupLimits(t *testing.T) {
	tests := []struct {
		name string
		host CgroupHost
		cfg  map[string]string
		want map[string]string
	}{
		{"none", hybrid, map[string]string{"user.x": "y"}, map[string]string{}},
		{"memory v1", hybrid, map[string]string{"limits.memory": "512MiB"}, map[string]string{"lxc.cgroup.memory.limit_in_bytes": "536870912"}},
		{"memory percent", hybrid, map[string]string{"limits.memory": "25%"}, map[string]string{"lxc.cgroup.memory.limit_in_bytes": "2147483648"}},
		{"memory soft", hybrid, map[string]string{"limits.memory": "1GiB", "limits.memory.enforce": "soft"}, map[string]string{"lxc.cgroup.memory.soft_limit_in_bytes": "1073741824"}},
		{"memory no swap", hybrid, map[string]string{"limits.memory": "1GB", "limits.memory.swap": "false"}, map[string]string{"lxc.cgroup.memory.limit_in_bytes": "1000000000", "lxc.cgroup.memory.swappiness": "0"}},
		{"swap true is the default", hybrid, map[string]string{"limits.memory.swap": "true"}, map[string]string{}},
		{"memory v2", pureV2, map[string]string{"limits.memory": "1GiB", "limits.memory.swap": "false"}, map[string]string{"lxc.cgroup2.memory.max": "1073741824", "lxc.cgroup2.memory.swap.max": "0"}},
		{"memory soft v2", pureV2, map[string]string{"limits.memory": "1GiB", "limits.memory.enforce": "soft"}, map[string]string{"lxc.cgroup2.memory.high": "1073741824"}},
		{"cpu count", hybrid, map[string]string{"limits.cpu": "2"}, map[string]string{"lxc.cgroup.cpuset.cpus": "0-1"}},
		{"cpu count 1", hybrid, map[string]string{"limits.cpu": "1"}, map[string]string{"lxc.cgroup.cpuset.cpus": "0"}},
		{"cpu count all", hybrid, map[string]string{"limits.cpu": "4"}, map[string]string{}},
		{"cpu count more than host", hybrid, map[string]string{"limits.cpu": "16"}, map[string]string{}},
		{"cpu set", hybrid, map[string]string{"limits.cpu": "1,3"}, map[string]string{"lxc.cgroup.cpuset.cpus": "1,3"}},
		{"cpu v2", pureV2, map[string]string{"limits.cpu": "1"}, map[string]string{"lxc.cgroup2.cpuset.cpus": "0"}},
		{"allowance percent", hybrid, map[string]string{"limits.cpu.allowance": "50%"}, map[string]string{"lxc.cgroup.cpu.shares": "512"}},
		{"allowance time", hybrid, map[string]string{"limits.cpu.allowance": "25ms/100ms"}, map[string]string{"lxc.cgroup.cpu.cfs_quota_us": "25000", "lxc.cgroup.cpu.cfs_period_us": "100000"}},
		{"allowance time v2", pureV2, map[string]string{"limits.cpu.allowance": "50ms/200ms"}, map[string]string{"lxc.cgroup2.cpu.max": "50000 200000"}},
		{"priority", hybrid, map[string]string{"limits.cpu.priority": "0"}, map[string]string{"lxc.cgroup.cpu.shares": "512"}},
		{"priority 10 is the default", hybrid, map[string]string{"limits.cpu.priority": "10"}, map[string]string{}},
		{"priority v2", pureV2, map[string]string{"limits.cpu.priority": "0"}, map[string]string{"lxc.cgroup2.cpu.weight": "50"}},
		{"processes", hybrid, map[string]string{"limits.processes": "50"}, map[string]string{"lxc.cgroup.pids.max": "50"}},
		{"processes v2", pureV2, map[string]string{"limits.processes": "50"}, map[string]string{"lxc.cgroup2.pids.max": "50"}},
		{"disk priority", hybrid, map[string]string{"limits.disk.priority": "10"}, map[string]string{"lxc.cgroup.blkio.bfq.weight": "1000"}},
		{"disk priority v2", pureV2, map[string]string{"limits.disk.priority": "0"}, map[string]string{"lxc.cgroup2.io.weight": "10"}},
		{"disk priority without a weight file", CgroupHost{V1: map[string]bool{"blkio": true}, CPUs: 1}, map[string]string{"limits.disk.priority": "5"}, map[string]string{}},
		{"no memory controller", CgroupHost{V1: map[string]bool{}, CPUs: 1}, map[string]string{"limits.memory": "1GiB"}, map[string]string{}},
	}
	for _, tt := range tests {
		got, resets, err := cgroupLimits(tt.cfg, tt.host)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
		for k := range got {
			if _, ok := resets[k]; !ok {
				t.Errorf("%s: %s has no reset value, so unsetting it could not apply live", tt.name, k)
			}
		}
	}
}

func TestCgroupLimitsRefused(t *testing.T) {
	tests := []struct {
		cfg  map[string]string
		want string
	}{
		{map[string]string{"limits.cpu": "0-7"}, "CPU 7 does not exist"},
		{map[string]string{"limits.cpu": "3-1"}, "backwards"},
		{map[string]string{"limits.cpu": "0"}, "at least 1"},
		{map[string]string{"limits.memory": "lots"}, "not a size"},
		{map[string]string{"limits.cpu.allowance": "5"}, "allowance"},
		{map[string]string{"limits.cpu.priority": "11"}, "0 to 10"},
		{map[string]string{"limits.disk.priority": "-1"}, "0 to 10"},
	}
	for _, tt := range tests {
		_, _, err := cgroupLimits(tt.cfg, hybrid)
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want ErrInvalid mentioning %q", tt.cfg, err, tt.want)
		}
		for k := range tt.cfg {
			if err != nil && !strings.Contains(err.Error(), `"`+k+`"`) {
				t.Errorf("%v: error %q does not name the key", tt.cfg, err)
			}
		}
	}
	if _, _, err := cgroupLimits(map[string]string{"limits.memory": "50%"}, CgroupHost{V1: map[string]bool{"memory": true}}); err == nil {
		t.Error("a percentage with an unknown host memory size was accepted")
	}
}

func TestResetsCoverEveryManagedKey(t *testing.T) {
	_, resets, err := cgroupLimits(map[string]string{}, hybrid)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"lxc.cgroup.memory.limit_in_bytes": "-1", "lxc.cgroup.memory.soft_limit_in_bytes": "-1",
		"lxc.cgroup.memory.swappiness": "60", "lxc.cgroup.cpuset.cpus": "0-3", "lxc.cgroup.cpu.shares": "1024",
		"lxc.cgroup.cpu.cfs_quota_us": "-1", "lxc.cgroup.cpu.cfs_period_us": "100000",
		"lxc.cgroup.pids.max": "max", "lxc.cgroup.blkio.bfq.weight": "100",
	}
	if !reflect.DeepEqual(resets, want) {
		t.Errorf("resets = %v\nwant %v", resets, want)
	}
}

func TestLxcfsMounts(t *testing.T) {
	if m := lxcfsMounts(""); m != nil {
		t.Errorf("no lxcfs: %v", m)
	}
	dir := t.TempDir()
	if m := lxcfsMounts(dir); len(m) != 0 {
		t.Errorf("lxcfs dir without files: %v", m)
	}
	for _, f := range []string{"proc/meminfo", "proc/uptime", "sys/devices/system/cpu/online"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := []Mount{
		{Source: dir + "/proc/meminfo", Path: "/proc/meminfo", Optional: true},
		{Source: dir + "/proc/uptime", Path: "/proc/uptime", Optional: true},
		{Source: dir + "/sys/devices/system/cpu/online", Path: "/sys/devices/system/cpu/online", Optional: true},
	}
	if m := lxcfsMounts(dir); !reflect.DeepEqual(m, want) {
		t.Errorf("lxcfsMounts = %v, want %v", m, want)
	}
}
