package lxc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestClassifyCgroups(t *testing.T) {
	hybrid := classify([]string{
		"/sys/fs/cgroup/memory/lxc.payload.c1", "/sys/fs/cgroup/cpu,cpuacct/lxc.payload.c1",
		"/sys/fs/cgroup/pids/lxc.payload.c1", "/sys/fs/cgroup/freezer/lxc.payload.c1",
		"/sys/fs/cgroup/systemd/lxc.payload.c1", "/sys/fs/cgroup/unified/lxc.payload.c1",
	}, false)
	want := cgroupFiles{memory: "/sys/fs/cgroup/memory/lxc.payload.c1", cpuacct: "/sys/fs/cgroup/cpu,cpuacct/lxc.payload.c1",
		pids: "/sys/fs/cgroup/pids/lxc.payload.c1", freezer: "/sys/fs/cgroup/freezer/lxc.payload.c1", unified: "/sys/fs/cgroup/unified/lxc.payload.c1"}
	if hybrid != want {
		t.Errorf("hybrid host: %+v\nwant %+v", hybrid, want)
	}
	// v2 only: the payload cgroup sits in the one hierarchy, under lited's own cgroup at times.
	for _, dir := range []string{"/sys/fs/cgroup/lxc.payload.c1", "/sys/fs/cgroup/system.slice/lited.service/lxc.payload.c1"} {
		if got := classify([]string{dir}, true); got != (cgroupFiles{unified: dir}) {
			t.Errorf("v2 host %s: %+v", dir, got)
		}
	}
}

func TestRecordedInit(t *testing.T) {
	d := &Driver{LXCPath: t.TempDir()}
	if err := os.Mkdir(filepath.Join(d.LXCPath, "c1"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.recordedInit("c1"); ok {
		t.Error("an init without a record")
	}
	self := os.Getpid()
	start, ok := procStartTime(self)
	if !ok || start == "" {
		t.Fatalf("start time of this process: %q %v", start, ok)
	}
	write := func(s string) {
		if err := os.WriteFile(d.initRecord("c1"), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(fmt.Sprintf("%d %s\n", self, start))
	if pid, ok := d.recordedInit("c1"); !ok || pid != self {
		t.Errorf("the recorded init runs: %d %v", pid, ok)
	}
	// The same pid with another start time is another process: not the init Start saw.
	write(fmt.Sprintf("%d 1\n", self))
	if _, ok := d.recordedInit("c1"); ok {
		t.Error("a pid reused by another process passed for the init")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	write(fmt.Sprintf("%d %s\n", cmd.Process.Pid, start))
	if _, ok := d.recordedInit("c1"); ok {
		t.Error("an init that exited passed for running")
	}
	for _, bad := range []string{"", "x y", "-1 5", "0 5"} {
		write(bad)
		if _, ok := d.recordedInit("c1"); ok {
			t.Errorf("record %q passed", bad)
		}
	}
}

func TestCgroupNumbers(t *testing.T) {
	dir := t.TempDir()
	for name, v := range map[string]string{"memory.current": "4096\n", "cpu.stat": "usage_usec 1500\nuser_usec 1000\n", "bad": "x\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if n := readInt(dir, "memory.current"); n != 4096 {
		t.Errorf("memory.current = %d", n)
	}
	if n := readInt(dir, "bad") + readInt(dir, "missing"); n != 0 {
		t.Errorf("unreadable counters = %d, want 0", n)
	}
	if n := cpuStatUsec(dir); n != 1500 {
		t.Errorf("usage_usec = %d", n)
	}
}
