package lxc

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lite/lxd-lite/instance"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var defaultMap = &instance.IDMap{UID: 100000, GID: 100000, Size: 65536}

func baseSpec() instance.RunSpec {
	return instance.RunSpec{
		Name: "web1", Dir: "/var/lib/lite/containers/web1", Hostname: "web1",
		Rootfs:  "overlay:/var/lib/lite/images/abc/rootfs:/var/lib/lite/containers/web1/upper",
		LogFile: "/var/lib/lite/containers/web1/lxc.log",
	}
}

// renderCases are the lxc configs lite produces, one golden file each.
var renderCases = []struct {
	golden string
	spec   func() instance.RunSpec
}{
	{"privileged.conf", func() instance.RunSpec {
		s := baseSpec()
		s.Rootfs = "dir:/var/lib/lite/containers/web1/rootfs"
		return s
	}},
	{"unprivileged.conf", func() instance.RunSpec {
		s := baseSpec()
		s.IDMap = defaultMap
		return s
	}},
	{"nesting.conf", func() instance.RunSpec {
		s := baseSpec()
		s.IDMap = defaultMap
		s.Nesting = true
		return s
	}},
	{"rawlxc.conf", func() instance.RunSpec {
		s := baseSpec()
		s.IDMap = &instance.IDMap{UID: 200000, GID: 300000, Size: 1000}
		// Trailing newlines are trimmed; the lines themselves are kept verbatim, last, so
		// they override what lite set.
		s.RawLXC = "lxc.apparmor.profile = unconfined\nlxc.mount.auto = proc:rw sys:rw\n\n"
		return s
	}},
	{"limits.conf", func() instance.RunSpec {
		s := baseSpec()
		s.IDMap = defaultMap
		s.Cgroups = map[string]string{"lxc.cgroup.memory.limit_in_bytes": "268435456", "lxc.cgroup.pids.max": "50", "lxc.cgroup.cpuset.cpus": "0"}
		s.Mounts = []instance.Mount{
			{Source: "/var/lib/lite/lxcfs/proc/meminfo", Path: "/proc/meminfo", Optional: true},
			{Source: "/srv/data", Path: "/data", ReadOnly: true, Dir: true},
			{Source: "/srv/shared", Path: "/shared", Dir: true, Shift: true},
		}
		s.Nodes = []instance.DeviceNode{{Path: "/dev/net/tun", Type: "c", Major: 10, Minor: 200,
			Source: "/var/lib/lite/devices/web1/unix.tun", AllowKey: "lxc.cgroup.devices.allow"}}
		return s
	}},
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range renderCases {
		t.Run(tc.golden, func(t *testing.T) {
			got := Render(tc.spec())
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read %s (run with -update to create it): %v", path, err)
			}
			if got != string(want) {
				t.Errorf("Render differs from %s (if deliberate, go test -run Golden -update)\n--- got ---\n%s--- want ---\n%s", path, got, want)
			}
		})
	}
}

// configLines returns the key/value pairs of an lxc config in order.
func configLines(t *testing.T, conf string) [][2]string {
	t.Helper()
	var out [][2]string
	for _, l := range strings.Split(strings.TrimSuffix(conf, "\n"), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, " = ")
		if !ok || k == "" {
			t.Fatalf("line %q is not \"key = value\"", l)
		}
		out = append(out, [2]string{k, v})
	}
	return out
}

func values(lines [][2]string, key string) []string {
	var out []string
	for _, kv := range lines {
		if kv[0] == key {
			out = append(out, kv[1])
		}
	}
	return out
}

// The golden files pin the exact text; these checks say what must hold whatever the layout.
func TestRenderSemantics(t *testing.T) {
	priv := configLines(t, Render(renderCases[0].spec()))
	if v := values(priv, "lxc.idmap"); len(v) != 0 {
		t.Errorf("privileged container has an idmap: %v", v)
	}
	for _, inc := range values(priv, "lxc.include") {
		if strings.Contains(inc, "userns") || strings.Contains(inc, "nesting") {
			t.Errorf("privileged container includes %s", inc)
		}
	}
	if got := values(priv, "lxc.rootfs.path"); len(got) != 1 || got[0] != "dir:/var/lib/lite/containers/web1/rootfs" {
		t.Errorf("rootfs = %v", got)
	}
	if got := values(priv, "lxc.uts.name"); len(got) != 1 || got[0] != "web1" {
		t.Errorf("hostname = %v", got)
	}
	if got := values(priv, "lxc.log.file"); len(got) != 1 || got[0] != "/var/lib/lite/containers/web1/lxc.log" {
		t.Errorf("log file = %v", got)
	}
	if got := values(priv, "lxc.signal.halt"); len(got) != 1 || got[0] != "SIGRTMIN+3" {
		t.Errorf("halt signal = %v, want SIGRTMIN+3 (systemd's clean shutdown)", got)
	}

	unpriv := configLines(t, Render(renderCases[1].spec()))
	if got := strings.Join(values(unpriv, "lxc.idmap"), ";"); got != "u 0 100000 65536;g 0 100000 65536" {
		t.Errorf("idmap = %s", got)
	}
	if !contains(values(unpriv, "lxc.include"), "/usr/share/lxc/config/userns.conf") {
		t.Error("unprivileged container does not include userns.conf")
	}
	if contains(values(unpriv, "lxc.include"), "/usr/share/lxc/config/nesting.conf") {
		t.Error("nesting.conf included without security.nesting")
	}

	nest := configLines(t, Render(renderCases[2].spec()))
	if !contains(values(nest, "lxc.include"), "/usr/share/lxc/config/nesting.conf") {
		t.Error("nesting container does not include nesting.conf")
	}

	raw := configLines(t, Render(renderCases[3].spec()))
	if got := strings.Join(values(raw, "lxc.idmap"), ";"); got != "u 0 200000 1000;g 0 300000 1000" {
		t.Errorf("idmap with distinct uid/gid bases = %s", got)
	}
	last := raw[len(raw)-1]
	if last != [2]string{"lxc.mount.auto", "proc:rw sys:rw"} {
		t.Errorf("raw.lxc is not last (so it cannot override): last line %v", last)
	}
	if !strings.HasSuffix(Render(renderCases[3].spec()), "sys:rw\n") {
		t.Error("raw.lxc trailing blank lines kept")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// The includes lite names must exist on this host (liblxc-dev / lxc is installed here), or
// every start fails.
func TestIncludesExist(t *testing.T) {
	for _, tc := range renderCases {
		for _, inc := range values(configLines(t, Render(tc.spec())), "lxc.include") {
			if _, err := os.Stat(inc); err != nil {
				t.Errorf("%s: include %s: %v", tc.golden, inc, err)
			}
		}
	}
}

// TestSeccompPolicy: lite's policy keeps liblxc's common denylist, denies the new mount API with
// ENOSYS unless the container nests, and is what the config points at.
func TestSeccompPolicy(t *testing.T) {
	s := baseSpec()
	p := SeccompPolicy(s)
	for _, want := range []string{"2\ndenylist\n", "reject_force_umount", "kexec_load errno 38\n", "open_by_handle_at errno 38\n",
		"fsopen errno 38\n", "fsconfig errno 38\n", "fsmount errno 38\n", "open_tree errno 38\n", "move_mount errno 38\n", "mount_setattr errno 38\n"} {
		if !strings.Contains(p, want) {
			t.Errorf("policy lacks %q:\n%s", want, p)
		}
	}
	s.Nesting = true
	if p := SeccompPolicy(s); strings.Contains(p, "fsopen") || !strings.Contains(p, "kexec_load") {
		t.Errorf("nesting policy:\n%s", p)
	}
	if !strings.Contains(Render(s), "lxc.seccomp.profile = /var/lib/lite/containers/web1/seccomp\n") {
		t.Error("the config does not point at the policy")
	}
}
