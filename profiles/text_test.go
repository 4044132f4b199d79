package profiles

import (
	"errors"
	"strings"
	"testing"

	"lite/client/api"
)

// badText are values that would add a line (a setting, a directive) to a generated file, or
// hide part of one: every config value and device field refuses them.
var badText = []string{
	"\n", "x\nlxc.hook.pre-start = /bin/sh -c 'touch /tmp/pwn'", "\r", "x\r\n", "\x00", "\t", "\x1b[2J", "\x7f", "\x01", "\x1f",
}

// Every known instance key refuses control characters (raw.lxc takes newlines between
// settings, nothing else).
func TestInstanceKeysRefuseControlChars(t *testing.T) {
	for key := range instanceKeys {
		for _, bad := range badText {
			v := "1" + bad
			if key == "raw.lxc" {
				if bad == "\n" || bad == "\t" || strings.Contains(bad, "lxc.hook") {
					continue // newlines separate settings; a hook line is RawLXCHostAccess's
				}
				v = "lxc.prlimit.nofile = 1024" + bad
			}
			err := ValidateInstanceKey(key, v, true)
			if !errors.Is(err, api.ErrInvalid) {
				t.Errorf("%s=%q: err = %v, want ErrInvalid", key, v, err)
			}
		}
	}
	for _, key := range []string{"user.x", "environment.X", "image.os"} {
		for _, bad := range []string{"\x00", "\x1b", "\x7f", "a\x01b"} {
			if err := ValidateInstanceKey(key, bad, true); !errors.Is(err, api.ErrInvalid) {
				t.Errorf("%s=%q: err = %v, want ErrInvalid", key, bad, err)
			}
		}
	}
	// Free text may span lines (cloud-init user data, a multi-line variable); image.* may not.
	for _, key := range []string{"user.user-data", "environment.MOTD"} {
		if err := ValidateInstanceKey(key, "#cloud-config\r\npackages:\n\t- vim\n", true); err != nil {
			t.Errorf("%s with lines: %v", key, err)
		}
	}
	if err := ValidateInstanceKey("image.description", "a\nb", true); err == nil {
		t.Error("image.description with a newline accepted")
	}
	for _, key := range []string{"user.a\nb", "limits.cpu\x00", "environment.A\rB"} {
		if err := ValidateInstanceKey(key, "1", true); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("key %q: err = %v, want ErrInvalid", key, err)
		}
	}
}

// Every field of every device type refuses control characters, as does the device name.
func TestDeviceFieldsRefuseControlChars(t *testing.T) {
	for typ, keys := range deviceTypes {
		for key := range keys {
			for _, bad := range badText {
				dev := map[string]string{"type": typ, key: "/mnt/x" + bad}
				err := ValidateDevices(map[string]map[string]string{"d1": dev})
				if !errors.Is(err, api.ErrInvalid) {
					t.Errorf("%s %s=%q: err = %v, want ErrInvalid", typ, key, dev[key], err)
				}
			}
		}
	}
	for _, name := range []string{"", ".", "..", "a/b", "a b", "eth0\n", "x\x00", "d\r", strings.Repeat("d", 64)} {
		err := ValidateDevices(map[string]map[string]string{name: {"type": "none"}})
		if !errors.Is(err, api.ErrInvalid) {
			t.Errorf("device name %q: err = %v, want ErrInvalid", name, err)
		}
	}
}

// Disk and unix device paths are absolute paths without "..".
func TestDevicePathTricks(t *testing.T) {
	for _, typ := range []string{"disk", "unix-char", "unix-block"} {
		for _, p := range []string{"mnt/x", "../etc", "/mnt/../../etc", "/a/..", "./x", "~/x"} {
			err := ValidateDevices(map[string]map[string]string{"d": {"type": typ, "path": p}})
			if !errors.Is(err, api.ErrInvalid) {
				t.Errorf("%s path=%q: err = %v, want ErrInvalid", typ, p, err)
			}
		}
	}
	ok := map[string]map[string]string{
		"root": {"type": "disk", "path": "/", "pool": "default"},
		"data": {"type": "disk", "path": "/srv/my data", "source": "/srv/x"},
		"tun":  {"type": "unix-char", "path": "/dev/net/tun", "source": "/dev/net/tun"},
	}
	if err := ValidateDevices(ok); err != nil {
		t.Errorf("good devices refused: %v", err)
	}
}

// Keys whose suffix liblxc turns into a file name may not hold "/" or empty parts.
func TestRawLXCKeyShape(t *testing.T) {
	for _, v := range []string{
		"lxc.proc.../../sys/kernel/core_pattern = |/x", "lxc.cgroup.../../release_agent = /x",
		"lxc.cgroup2./x = 1", "lxc..cgroup = 1", "lxc. = 1", "lxc = 1", "lxc.cgroup.pids.max. = 1",
	} {
		if err := IsRawLXC(v); err == nil {
			t.Errorf("raw.lxc %q accepted", v)
		}
	}
	for _, v := range []string{"lxc.hook.pre-start = /x", "lxc.net.0.ipv4.address = 1.2.3.4/24", "lxc.cgroup2.memory.max = 1G"} {
		key, _, _ := strings.Cut(v, " ")
		if !rawLXCKeyRe.MatchString(key) {
			t.Errorf("key of %q does not match", v)
		}
	}
}

func TestRawLXCHostAccess(t *testing.T) {
	refused := []string{
		"lxc.hook.pre-start = /bin/sh -c 'touch /tmp/x'", "lxc.hook.mount=/x", "lxc.hook.version = 1",
		"lxc.apparmor.profile = unconfined", "lxc.apparmor.allow_nesting = 1", "lxc.seccomp.profile =",
		"lxc.cap.drop =", "lxc.cap.keep = sys_admin", "lxc.mount.entry = /etc etc none bind 0 0",
		"lxc.mount.auto = proc:rw sys:rw", "lxc.mount.fstab = /etc/fstab", "lxc.namespace.share.net = 1",
		"lxc.namespace.keep = net", "lxc.cgroup.devices.allow = a", "lxc.cgroup2.devices.allow = b 8:* rwm",
		"lxc.cgroup.dir = ../..", "lxc.cgroup.dir.container = x", "lxc.console.logfile = /root/.bashrc",
		"lxc.console.path = /dev/tty1", "lxc.sysctl.kernel.core_pattern = |/tmp/x", "lxc.selinux.context = x",
		"lxc.seccomp.allow_nesting = 1", "lxc.monitor.unshare = 1", "lxc.net.0.script.up = /x", "lxc.unknown = 1",
		"lxc.prlimit.nofile = 1\nlxc.hook.start-host = /x", "lxc.tty.dir = ../../x",
		// cgroup files that are not limits: liblxc writes them as host root.
		"lxc.cgroup2.cgroup.procs = 1", "lxc.cgroup.tasks = 1", "lxc.cgroup2.cgroup.kill = 1",
		"lxc.cgroup2.cgroup.subtree_control = +cpu", "lxc.cgroup.freezer.state = FROZEN",
		"lxc.cgroup.release_agent = /tmp/x", "lxc.cgroup.notify_on_release = 1", "lxc.cgroup2.cgroup.freeze = 1",
	}
	for _, v := range refused {
		if err := RawLXCHostAccess(v); err == nil {
			t.Errorf("raw.lxc %q allowed", v)
		}
	}
	allowed := []string{
		"", "# comment\n\n", "lxc.prlimit.nofile = 1024", "lxc.cgroup.memory.limit_in_bytes = 1G",
		"lxc.cgroup2.memory.max = 1G", "lxc.environment = FOO=1", "lxc.init.cmd = /sbin/init",
		"lxc.signal.halt = SIGPWR", "lxc.tty.max = 4", "lxc.pty.max = 10", "lxc.proc.oom_score_adj = 10",
		"lxc.autodev = 1", "lxc.start.auto = 1", "lxc.no_new_privs = 1",
		"lxc.cgroup2.pids.max = 100", "lxc.cgroup.cpuset.cpus = 0", "lxc.cgroup2.io.weight = 50",
	}
	for _, v := range allowed {
		if err := RawLXCHostAccess(v); err != nil {
			t.Errorf("raw.lxc %q refused: %v", v, err)
		}
	}
}

// Volatile values stored by lited come back from clients and backups; they stay single lines.
func TestVolatileValuesSingleLine(t *testing.T) {
	for _, v := range []string{"veth1\nlxc.hook.start = /x", "\x00", "a\rb"} {
		if err := ValidateInstanceConfig(map[string]string{"volatile.eth0.host_name": v}, map[string]string{"volatile.eth0.host_name": v}); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("volatile value %q: err = %v", v, err)
		}
	}
	if err := ValidateInstanceConfig(map[string]string{"volatile.eth0.host_name": "veth1"}, map[string]string{"volatile.eth0.host_name": "veth1"}); err != nil {
		t.Errorf("stored volatile value refused: %v", err)
	}
}
