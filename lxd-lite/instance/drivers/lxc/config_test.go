package lxc

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"lite/client/api"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/instance"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var defaultMap = &idmap.Map{UID: 100000, GID: 100000, Size: 65536}

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
		s.RootfsMount = []string{"-n", "-i", "-t", "overlay", "-o", "lowerdir=/l,upperdir=/c/web1/upper,workdir=/c/web1/work", "overlay", "/c/web1/rootfs"}
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
		s.IDMap = &idmap.Map{UID: 200000, GID: 300000, Size: 1000}
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
			got := mustRender(t, tc.spec())
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
	priv := configLines(t, mustRender(t, renderCases[0].spec()))
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

	unpriv := configLines(t, mustRender(t, renderCases[1].spec()))
	if got := strings.Join(values(unpriv, "lxc.idmap"), ";"); got != "u 0 100000 65536;g 0 100000 65536" {
		t.Errorf("idmap = %s", got)
	}
	if !contains(values(unpriv, "lxc.include"), "/usr/share/lxc/config/userns.conf") {
		t.Error("unprivileged container does not include userns.conf")
	}
	if contains(values(unpriv, "lxc.include"), "/usr/share/lxc/config/nesting.conf") {
		t.Error("nesting.conf included without security.nesting")
	}

	nest := configLines(t, mustRender(t, renderCases[2].spec()))
	if !contains(values(nest, "lxc.include"), "/usr/share/lxc/config/nesting.conf") {
		t.Error("nesting container does not include nesting.conf")
	}

	raw := configLines(t, mustRender(t, renderCases[3].spec()))
	if got := strings.Join(values(raw, "lxc.idmap"), ";"); got != "u 0 200000 1000;g 0 300000 1000" {
		t.Errorf("idmap with distinct uid/gid bases = %s", got)
	}
	last := raw[len(raw)-1]
	if last != [2]string{"lxc.mount.auto", "proc:rw sys:rw"} {
		t.Errorf("raw.lxc is not last (so it cannot override): last line %v", last)
	}
	if !strings.HasSuffix(mustRender(t, renderCases[3].spec()), "sys:rw\n") {
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
		for _, inc := range values(configLines(t, mustRender(t, tc.spec())), "lxc.include") {
			if _, err := os.Stat(inc); err != nil {
				t.Errorf("%s: include %s: %v", tc.golden, inc, err)
			}
		}
	}
}

func mustRender(t *testing.T, spec instance.RunSpec) string {
	t.Helper()
	conf, err := Render(spec)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return conf
}

// Whatever a caller let through, the renderer never writes a control character into a value:
// a newline there would be a setting of its own (lxc.hook.pre-start runs as host root).
func TestRenderRefusesControlChars(t *testing.T) {
	const hook = "\nlxc.hook.pre-start = /bin/sh -c 'touch /tmp/pwn'"
	bad := []string{"\n", "\r", "\x00", "\t", "\x1b", "\x7f", hook}
	fields := map[string]func(s *instance.RunSpec, v string){
		"hostname":     func(s *instance.RunSpec, v string) { s.Hostname = "web1" + v },
		"rootfs":       func(s *instance.RunSpec, v string) { s.Rootfs = "dir:/x" + v },
		"log file":     func(s *instance.RunSpec, v string) { s.LogFile = "/x/lxc.log" + v },
		"console log":  func(s *instance.RunSpec, v string) { s.ConsoleLog = "/x/console.log" + v },
		"mount source": func(s *instance.RunSpec, v string) { s.Mounts = []instance.Mount{{Source: "/srv" + v, Path: "/mnt"}} },
		"mount path":   func(s *instance.RunSpec, v string) { s.Mounts = []instance.Mount{{Source: "/srv", Path: "/mnt" + v}} },
		"node path": func(s *instance.RunSpec, v string) {
			s.Nodes = []instance.DeviceNode{{Path: "/dev/x" + v, Type: "c", Major: 1, Minor: 3}}
		},
		"node source": func(s *instance.RunSpec, v string) {
			s.Nodes = []instance.DeviceNode{{Path: "/dev/x", Source: "/n" + v, Type: "c", Major: 1, Minor: 3}}
		},
		"nic name":   func(s *instance.RunSpec, v string) { s.NICs = []instance.NIC{{Name: "eth0" + v, Bridge: "br0"}} },
		"nic bridge": func(s *instance.RunSpec, v string) { s.NICs = []instance.NIC{{Name: "eth0", Bridge: "br0" + v}} },
		"nic hwaddr": func(s *instance.RunSpec, v string) {
			s.NICs = []instance.NIC{{Name: "eth0", Bridge: "b", Hwaddr: "00:16:3e:00:00:01" + v}}
		},
		"nic ipv4": func(s *instance.RunSpec, v string) {
			s.NICs = []instance.NIC{{Name: "eth0", Bridge: "b", IPv4: "10.0.0.2/24" + v}}
		},
		"cgroup":     func(s *instance.RunSpec, v string) { s.Cgroups = map[string]string{"lxc.cgroup.pids.max": "50" + v} },
		"cgroup key": func(s *instance.RunSpec, v string) { s.Cgroups = map[string]string{"lxc.cgroup.pids.max" + v: "50"} },
	}
	for name, set := range fields {
		for _, v := range bad {
			if v == "\t" && (strings.HasPrefix(name, "mount") || strings.HasPrefix(name, "node")) {
				continue // mount fields escape a tab as \011, which getmntent reads back
			}
			s := renderCases[1].spec()
			set(&s, v)
			if conf, err := Render(s); err == nil {
				t.Errorf("%s with %q: rendered\n%s", name, v, conf)
			} else if !errors.Is(err, api.ErrInvalid) {
				t.Errorf("%s with %q: error %v is not ErrInvalid", name, v, err)
			}
		}
	}
	for _, v := range []string{"\r", "\x00", "\x1b"} {
		s := renderCases[1].spec()
		s.RawLXC = "lxc.prlimit.nofile = 1024" + v
		if _, err := Render(s); err == nil {
			t.Errorf("raw.lxc with %q rendered", v)
		}
	}
}

// A space in a mount path is escaped as getmntent reads it, so it cannot add mount options.
func TestRenderEscapesMountFields(t *testing.T) {
	s := renderCases[1].spec()
	s.Mounts = []instance.Mount{{Source: `/srv/a b\c`, Path: "/mnt/x none bind,rw 0 0", Dir: true}}
	conf := mustRender(t, s)
	want := `lxc.mount.entry = /srv/a\040b\134c mnt/x\040none\040bind,rw\0400\0400 none bind,create=dir 0 0`
	if !strings.Contains(conf, want+"\n") {
		t.Errorf("mount entry not escaped; want line %q in\n%s", want, conf)
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
	if !strings.Contains(mustRender(t, s), "lxc.seccomp.profile = /var/lib/lite/containers/web1/seccomp\n") {
		t.Error("the config does not point at the policy")
	}
}

// The reboot hook's shell line: mounts only what is not mounted, ignores liblxc's trailing
// arguments, and refuses an argument the quoting cannot hold.
func TestRemountHook(t *testing.T) {
	got, err := remountHook([]string{"-t", "overlay", "-o", "a=1,b=2", "overlay", "/c/w 1/rootfs"})
	want := "2>&1; /bin/mountpoint -q '/c/w 1/rootfs' || exec /bin/mount '-t' 'overlay' '-o' 'a=1,b=2' 'overlay' '/c/w 1/rootfs' #"
	if err != nil || got != want {
		t.Errorf("hook = %q, %v\nwant %q", got, err, want)
	}
	// Run as liblxc runs it (hook version 0 appends three arguments), with mountpoint and
	// mount replaced: mounted, nothing runs; not mounted, mount gets exactly its arguments.
	run := func(mounted string) string {
		line := strings.NewReplacer("/bin/mountpoint", mounted, "/bin/mount", "echo").Replace(got)
		out, err := exec.Command("sh", "-c", "exec "+line+" web1 lxc pre-start").CombinedOutput()
		if err != nil {
			t.Fatalf("sh -c %q: %v: %s", line, err, out)
		}
		return string(out)
	}
	if out := run("true"); out != "" {
		t.Errorf("already mounted, the hook ran: %q", out)
	}
	if out := run("false"); out != "-t overlay -o a=1,b=2 overlay /c/w 1/rootfs\n" {
		t.Errorf("not mounted, mount got %q", out)
	}
	for _, bad := range []string{"/c/it's", "/c/a\nb"} {
		if _, err := remountHook([]string{"overlay", bad}); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("argument %q: %v, want ErrInvalid", bad, err)
		}
	}
}
