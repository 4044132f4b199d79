package test

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// profExec runs sh -c script in the instance and returns its trimmed stdout.
func profExec(t *testing.T, d *Daemon, name, script string) string {
	t.Helper()
	return strings.TrimSpace(mustLite(t, d, "exec", name, "--", "sh", "-c", script))
}

// profProfile creates a profile with config keys, deleted when the test ends.
func profProfile(t *testing.T, d *Daemon, name string, kv ...string) {
	t.Helper()
	mustLite(t, d, "profile", "create", name)
	t.Cleanup(func() {
		if d.Running() {
			if _, stderr, code := d.Lite("profile", "delete", name); code != 0 && !strings.Contains(stderr, "not found") {
				t.Errorf("cleanup: lite profile delete %s: %s", name, stderr)
			}
		}
	})
	if len(kv) > 0 {
		mustLite(t, d, append([]string{"profile", "set", name}, kv...)...)
	}
}

// limitsView is what a container sees of its limits, read from inside.
type limitsView struct {
	memTotalMiB, nproc, cpuinfo int
	memLimit, pidsMax, cpuset   string
	uptime                      float64
}

func readLimits(t *testing.T, d *Daemon, name string) limitsView {
	t.Helper()
	out := profExec(t, d, name, `free -m | awk '/^Mem:/ {print $2}'; nproc; grep -c ^processor /proc/cpuinfo; `+
		`cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpuset/cpuset.cpus; cut -d' ' -f1 /proc/uptime`)
	f := strings.Fields(out)
	if len(f) != 7 {
		t.Fatalf("limits read inside %s: %q", name, out)
	}
	var v limitsView
	v.memTotalMiB, _ = strconv.Atoi(f[0])
	v.nproc, _ = strconv.Atoi(f[1])
	v.cpuinfo, _ = strconv.Atoi(f[2])
	v.memLimit, v.pidsMax, v.cpuset = f[3], f[4], f[5]
	v.uptime, _ = strconv.ParseFloat(f[6], 64)
	return v
}

func hostUptime(t *testing.T) float64 {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return u
}

// TestProfLimitsLive launches a container with limits from a profile and reads them from
// inside (free, nproc, /proc/cpuinfo through lxcfs, the cgroup files), changes them live with
// lite config set and lite profile set, then has a process exceed limits.memory (OOM-killed
// inside, container fine) and a fork loop hit limits.processes (EAGAIN).
func TestProfLimitsLive(t *testing.T) {
	d := sharedDaemon(t)
	const name = "prof-lim1"
	profProfile(t, d, "prof-small", "limits.memory=256MiB", "limits.cpu=1", "limits.processes=200")
	deleteOnCleanup(t, d, name)
	mustLite(t, d, "launch", "debian/12", name, "-p", "default", "-p", "prof-small")

	v := readLimits(t, d, name)
	if v.memTotalMiB != 256 || v.nproc != 1 || v.cpuinfo != 1 || v.memLimit != "268435456" || v.pidsMax != "200" || v.cpuset != "0" {
		t.Errorf("at start, inside sees %+v; want 256 MiB, 1 CPU, pids.max 200, cpuset 0", v)
	}
	if hu := hostUptime(t); v.uptime >= hu {
		t.Errorf("uptime inside %.0fs is not the container's (host: %.0fs)", v.uptime, hu)
	}

	// Live, on the running container: instance keys, then the profile.
	cpus := min(2, runtime.NumCPU())
	mustLite(t, d, "config", "set", name, "limits.memory", "512MiB")
	mustLite(t, d, "config", "set", name, "limits.cpu="+strconv.Itoa(cpus))
	mustLite(t, d, "profile", "set", "prof-small", "limits.processes=100")
	v = readLimits(t, d, name)
	if v.memTotalMiB != 512 || v.nproc != cpus || v.cpuinfo != cpus || v.memLimit != "536870912" || v.pidsMax != "100" {
		t.Errorf("after live changes, inside sees %+v; want 512 MiB, %d CPUs, pids.max 100", v, cpus)
	}
	if got := strings.TrimSpace(mustLite(t, d, "config", "get", name, "limits.processes", "--expanded")); got != "100" {
		t.Errorf("expanded limits.processes = %q", got)
	}
	// Fewer CPUs, live.
	mustLite(t, d, "config", "set", name, "limits.cpu=1")
	if v = readLimits(t, d, name); v.nproc != 1 || v.cpuinfo != 1 || v.cpuset != "0" {
		t.Errorf("after limits.cpu=1 live, inside sees %+v", v)
	}
	// Unsetting removes the limit live.
	mustLite(t, d, "config", "unset", name, "limits.memory")
	if v = readLimits(t, d, name); v.memTotalMiB != 256 {
		t.Errorf("after unsetting the instance's limits.memory, the profile's 256MiB should apply; inside sees %d MiB", v.memTotalMiB)
	}

	// Adding, removing and assigning profiles re-expands and applies at once.
	profProfile(t, d, "prof-tiny", "limits.memory=128MiB")
	if out := mustLite(t, d, "profile", "add", name, "prof-tiny"); out != "Profile prof-tiny added to "+name+"\n" {
		t.Errorf("profile add said %q", out)
	}
	if v = readLimits(t, d, name); v.memTotalMiB != 128 {
		t.Errorf("after lite profile add prof-tiny, inside sees %d MiB, want 128", v.memTotalMiB)
	}
	mustLite(t, d, "profile", "remove", name, "prof-tiny")
	if v = readLimits(t, d, name); v.memTotalMiB != 256 {
		t.Errorf("after lite profile remove prof-tiny, inside sees %d MiB, want 256", v.memTotalMiB)
	}
	mustLite(t, d, "profile", "assign", name, "default,prof-small,prof-tiny")
	if v = readLimits(t, d, name); v.memTotalMiB != 128 {
		t.Errorf("after lite profile assign ...,prof-tiny, inside sees %d MiB, want 128", v.memTotalMiB)
	}
	mustLite(t, d, "profile", "assign", name, "default,prof-small")

	t.Run("cpu_swap_env", func(t *testing.T) {
		mustLite(t, d, "config", "set", name, "limits.cpu.allowance=25ms/100ms", "limits.cpu.priority=0",
			"limits.memory.swap=false", "environment.PROF_FOO=bar baz")
		inside := strings.Fields(profExec(t, d, name, "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.shares"))
		if got := strings.Join(inside, " "); got != "25000 100000 512" {
			t.Errorf("cpu cgroup inside after setting allowance and priority: %q, want %q", got, "25000 100000 512")
		}
		// The same files seen from the host, through the container's init's cgroup.
		cpu := hostCgroupDir(t, initPid(t, d, name), "cpu")
		if got := readFiles(t, cpu+"/cpu.cfs_quota_us", cpu+"/cpu.cfs_period_us", cpu+"/cpu.shares"); got != "25000 100000 512" {
			t.Errorf("cpu cgroup on the host: %q", got)
		}
		if got := profExec(t, d, name, "cat /sys/fs/cgroup/memory/memory.swappiness; echo $PROF_FOO"); got != "0\nbar baz" {
			t.Errorf("inside after limits.memory.swap=false and environment.PROF_FOO: %q", got)
		}
		mustLite(t, d, "config", "unset", name, "limits.cpu.allowance", "limits.cpu.priority", "limits.memory.swap")
		if got := profExec(t, d, name, "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares"); got != "-1\n1024" {
			t.Errorf("cpu cgroup inside after unsetting: %q, want -1 and 1024", got)
		}
		if got := profExec(t, d, name, "cat /sys/fs/cgroup/memory/memory.swappiness"); got != "60" {
			t.Errorf("swappiness after unsetting: %q, want 60", got)
		}
	})

	t.Run("oom", func(t *testing.T) {
		mustLite(t, d, "config", "set", name, "limits.memory=64MiB")
		_, stderr, code := d.Lite("exec", name, "--", "perl", "-e", `$x = "a" x (256*1024*1024); print "survived\n"`)
		if code != 137 {
			t.Errorf("a 256 MiB allocation under limits.memory=64MiB: exit %d (stderr %q), want 137 (OOM-killed)", code, stderr)
		}
		if out := profExec(t, d, name, "grep '^oom_kill ' /sys/fs/cgroup/memory/memory.oom_control"); out == "oom_kill 0" || !strings.HasPrefix(out, "oom_kill ") {
			t.Errorf("memory.oom_control: %q, want an OOM kill counted", out)
		}
		requireStatus(t, d, name, "RUNNING")
		if out := profExec(t, d, name, "echo alive"); out != "alive" {
			t.Errorf("container after the OOM kill: %q", out)
		}
	})

	t.Run("forkbomb", func(t *testing.T) {
		mustLite(t, d, "config", "set", name, "limits.memory=256MiB", "limits.processes=50")
		// Fork sleeping children until fork fails, then kill them all: bounded either way.
		out := profExec(t, d, name, `perl -e 'my @k; my $e = ""; for (1..200) { my $p = fork(); if (!defined $p) { $e = $!; last } if ($p == 0) { sleep 60; exit 0 } push @k, $p } print scalar(@k), "|$e\n"; kill "KILL", @k; waitpid($_, 0) for @k;'`)
		n, errno, _ := strings.Cut(out, "|")
		count, _ := strconv.Atoi(n)
		if count >= 50 || !strings.Contains(errno, "Resource temporarily unavailable") {
			t.Errorf("fork loop under limits.processes=50: %d children, error %q; want fewer than 50 and EAGAIN", count, errno)
		}
		if out := profExec(t, d, name, "echo alive"); out != "alive" {
			t.Errorf("container after the fork loop: %q", out)
		}
	})
}

// TestProfDiskDevice bind-mounts a host directory read-only from a profile, then adds and
// removes devices on the running container (hotplug), and masks one.
func TestProfDiskDevice(t *testing.T) {
	d := sharedDaemon(t)
	const name = "prof-disk1"
	src, err := os.MkdirTemp("/tmp", "lite-prof-src-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(src) })
	if err := os.Chmod(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src+"/hello", []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	profProfile(t, d, "prof-data")
	mustLite(t, d, "profile", "device", "add", "prof-data", "data", "disk", "source="+src, "path=/data", "readonly=true")
	deleteOnCleanup(t, d, name)
	mustLite(t, d, "launch", "debian/12", name, "-p", "default", "-p", "prof-data")
	if got := profExec(t, d, name, "cat /data/hello"); got != "from the host" {
		t.Errorf("cat /data/hello = %q", got)
	}
	_, stderr, code := d.Lite("exec", name, "--", "touch", "/data/new")
	if code == 0 || !strings.Contains(stderr, "Read-only file system") {
		t.Errorf("touch on the read-only mount: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(src + "/new"); err == nil {
		t.Error("the container wrote through a read-only disk device")
	}
	// Without shift the host's root-owned file is nobody's inside (shift=true needs lited's
	// opt-in: TestInputHostOptIns).
	if got := profExec(t, d, name, "stat -c %u /data/hello"); got != "65534" {
		t.Errorf("owner of /data/hello without shift = %s, want 65534 (nobody)", got)
	}
	// Added to the running container: attached at once (no restart), the mount point and its
	// parents made inside.
	mustLite(t, d, "config", "device", "add", name, "shared", "disk", "source="+src, "path=/mnt/deep/shared")
	if got := profExec(t, d, name, "stat -c %u /mnt/deep/shared/hello && head -1 /mnt/deep/shared/hello"); got != "65534\nfrom the host" {
		t.Errorf("mount, hotplugged: %q, want owner 65534 and the host's text", got)
	}
	// Removed from the running container: detached at once.
	mustLite(t, d, "config", "device", "remove", name, "shared")
	if out := profExec(t, d, name, "grep -c /mnt/deep/shared /proc/self/mountinfo || true"); out != "0" {
		t.Errorf("mounts at /mnt/deep/shared after the device was removed: %s", out)
	}
	// And after a restart, the mount comes from the start config.
	mustLite(t, d, "config", "device", "add", name, "shared", "disk", "source="+src, "path=/shared")
	mustLite(t, d, "restart", name)
	if got := profExec(t, d, name, "head -1 /shared/hello"); got != "from the host" {
		t.Errorf("the mount after a restart: %q", got)
	}

	// The instance masks the profile's device with a none device: detached at once.
	mustLite(t, d, "config", "device", "add", name, "data", "none")
	if out, _, code := d.Lite("exec", name, "--", "test", "-e", "/data/hello"); code == 0 {
		t.Errorf("/data/hello still visible after masking the device (%q)", out)
	}
	mustLite(t, d, "restart", name)
	if out, _, code := d.Lite("exec", name, "--", "test", "-e", "/data/hello"); code == 0 {
		t.Errorf("/data/hello visible again after a restart (%q)", out)
	}
}

// TestProfBadInput sends bad keys, values and devices; each fails with one clear line and
// changes nothing. A profile in use, and default, cannot be deleted.
func TestProfBadInput(t *testing.T) {
	d := sharedDaemon(t)
	const name = "prof-bad1"
	profProfile(t, d, "prof-keep", "limits.memory=1GiB")
	deleteOnCleanup(t, d, name)
	mustLite(t, d, "init", "debian/12", name, "-p", "default", "-p", "prof-keep")
	before := mustLite(t, d, "config", "show", name)
	beforeProf := mustLite(t, d, "profile", "show", "prof-keep")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"config", "set", name, "limits.memory=lots"}, `"limits.memory".*size`},
		{[]string{"config", "set", name, "limits.memory=-1"}, `"limits.memory"`},
		{[]string{"config", "set", name, "limits.cpu=0"}, `"limits.cpu".*at least 1`},
		{[]string{"config", "set", name, "limits.cpu.allowance=200%"}, `"limits.cpu.allowance"`},
		{[]string{"config", "set", name, "limits.memory.enforce=medium"}, `"limits.memory.enforce".*hard, soft`},
		{[]string{"config", "set", name, "limits.nonsense=1"}, `unknown config key "limits.nonsense"`},
		{[]string{"config", "set", name, "volatile.base_image=x"}, `"volatile.base_image".*read-only`},
		{[]string{"config", "set", name, "security.idmap.isolated=true"}, `not supported yet`},
		{[]string{"config", "set", name, "raw.lxc=lxc.rootfs.path = dir:/"}, `lxc.rootfs.path`},
		{[]string{"config", "set", name, "raw.lxc=lxc.net.0.type = phys"}, `lxc.net.0.type`},
		{[]string{"config", "device", "add", name, "x", "disk", "source=/nonexistent-prof", "path=/x"}, `does not exist`},
		{[]string{"config", "device", "add", name, "x", "disk", "source=/", "path=/x"}, `root`},
		{[]string{"config", "device", "add", name, "x", "disk", "source=" + d.Dir, "path=/x"}, `lited's own state`},
		{[]string{"config", "device", "add", name, "x", "disk", "source=/tmp", "path=/x", "shift=maybe"}, `"shift"`},
		{[]string{"config", "device", "add", name, "x", "gpu"}, `"gpu"`},
		{[]string{"profile", "set", "prof-keep", "limits.memory=lots"}, `"limits.memory"`},
		{[]string{"profile", "set", "prof-keep", "limits.processes=0"}, `"limits.processes"`},
		{[]string{"profile", "device", "add", "prof-keep", "x", "disk", "source=/", "path=/x"}, `root`},
		{[]string{"profile", "delete", "prof-keep"}, `in use by ` + name},
		{[]string{"profile", "delete", "default"}, `default profile cannot be deleted`},
		{[]string{"profile", "rename", "default", "other"}, `default profile cannot be renamed`},
		{[]string{"profile", "create", "prof-keep"}, `already exists`},
		{[]string{"profile", "create", "a/b"}, `invalid profile name`},
		{[]string{"profile", "show", "prof-nope"}, `not found`},
		{[]string{"profile", "add", name, "prof-nope"}, `"prof-nope".*not found`},
	}
	for _, c := range cases {
		_, stderr, code := d.Lite(c.args...)
		oneLineError(t, "lite "+strings.Join(c.args, " "), stderr, code, c.want)
	}
	if after := mustLite(t, d, "config", "show", name); after != before {
		t.Errorf("refused commands changed the instance:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if after := mustLite(t, d, "profile", "show", "prof-keep"); after != beforeProf {
		t.Errorf("refused commands changed the profile:\nbefore:\n%s\nafter:\n%s", beforeProf, after)
	}
	// config edit from stdin: the shown YAML with one key more goes back whole.
	shown := mustLite(t, d, "config", "show", name)
	edited := strings.Replace(shown, "config:\n", "config:\n  user.edited: \"yes\"\n", 1)
	if _, stderr, code := d.LiteIn(strings.NewReader(edited), "config", "edit", name); code != 0 {
		t.Fatalf("lite config edit < yaml: %s", stderr)
	}
	if got := strings.TrimSpace(mustLite(t, d, "config", "get", name, "user.edited")); got != "yes" {
		t.Errorf("after config edit, user.edited = %q", got)
	}
	var rest []string
	for _, line := range strings.SplitAfter(mustLite(t, d, "config", "show", name), "\n") {
		if !strings.HasPrefix(line, "  user.edited:") {
			rest = append(rest, line)
		}
	}
	if after := strings.Join(rest, ""); after != shown {
		t.Errorf("config edit changed more than user.edited:\n%s\nwas:\n%s", after, shown)
	}
	bad := strings.Replace(shown, "config:\n", "config:\n  limits.memory: lots\n", 1)
	_, stderr, code := d.LiteIn(strings.NewReader(bad), "config", "edit", name)
	oneLineError(t, "lite config edit with a bad value", stderr, code, `"limits.memory"`)

	// Edit from stdin replaces the profile.
	_, stderr, code = d.LiteIn(strings.NewReader("description: edited\nconfig:\n  limits.memory: 2GiB\n  user.note: hi\ndevices: {}\n"), "profile", "edit", "prof-keep")
	if code != 0 {
		t.Fatalf("lite profile edit < yaml: %s", stderr)
	}
	if got := strings.TrimSpace(mustLite(t, d, "profile", "get", "prof-keep", "user.note")); got != "hi" {
		t.Errorf("after edit, user.note = %q", got)
	}
	_, stderr, code = d.LiteIn(strings.NewReader("config:\n  limits.memory: lots\n"), "profile", "edit", "prof-keep")
	oneLineError(t, "lite profile edit with a bad value", stderr, code, `"limits.memory"`)
}

// TestProfAutostart restarts a daemon of its own: an instance with boot.autostart=true comes
// back running, one without stays stopped.
func TestProfAutostart(t *testing.T) {
	d := startDaemon(t)
	mustLite(t, d, "init", "debian/12", "prof-auto", "-c", "boot.autostart=true", "-c", "boot.autostart.priority=5")
	mustLite(t, d, "init", "debian/12", "prof-manual")
	requireStatus(t, d, "prof-auto", "STOPPED")
	d.Restart(t)
	eventually(t, 2*time.Minute, "prof-auto autostarted", func() (bool, string) {
		s := status(t, d, "prof-auto")
		return s == "RUNNING", s
	})
	requireStatus(t, d, "prof-manual", "STOPPED")
	if out := profExec(t, d, "prof-auto", "echo up"); out != "up" {
		t.Errorf("exec in the autostarted instance: %q", out)
	}
}

// hostCgroupDir returns the v1 cgroup directory of pid for controller, from /proc/PID/cgroup.
func hostCgroupDir(t *testing.T, pid int, controller string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && parts[1] == controller {
			return "/sys/fs/cgroup/" + controller + parts[2]
		}
	}
	t.Fatalf("pid %d has no %s cgroup:\n%s", pid, controller, b)
	return ""
}

// readFiles returns the trimmed contents of files, joined by spaces.
func readFiles(t *testing.T, files ...string) string {
	t.Helper()
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSpace(string(b)))
	}
	return strings.Join(out, " ")
}

// TestProfUnixDevice passes a host character device in with an owner and mode of its own.
func TestProfUnixDevice(t *testing.T) {
	d := sharedDaemon(t)
	const name = "prof-unix1"
	deleteOnCleanup(t, d, name)
	mustLite(t, d, "init", "debian/12", name)
	mustLite(t, d, "config", "device", "add", name, "null2", "unix-char", "source=/dev/null", "path=/dev/lite-null", "uid=1000", "gid=100", "mode=0620")
	mustLite(t, d, "start", name)
	if got := profExec(t, d, name, "stat -c '%t:%T %u:%g %a %F' /dev/lite-null && echo data > /dev/lite-null && echo written"); got != "1:3 1000:100 620 character special file\nwritten" {
		t.Errorf("inside: %q", got)
	}
	_, stderr, code := d.Lite("config", "device", "add", name, "bad", "unix-block", "source=/dev/null")
	oneLineError(t, "unix-block with a character device", stderr, code, "not a unix-block device")
	mustLite(t, d, "stop", name, "--force")
	if _, err := os.Stat(d.Dir + "/devices/" + name + "/unix.null2"); !os.IsNotExist(err) {
		t.Errorf("host node left after stop: %v", err)
	}
}
