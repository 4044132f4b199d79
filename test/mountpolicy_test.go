package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMountPolicy checks lite's seccomp policy from inside a booted container (issue 11, item
// 16): systemd runs, the new mount API answers ENOSYS, and what stays possible through mount(2)
// is what the Security section of the README says: file systems the kernel lets a user
// namespace mount, and cgroup v1 hierarchies of the container's own subtree whose limits it
// cannot raise.
func TestMountPolicy(t *testing.T) {
	d := sharedWeb1(t)
	if out := strings.TrimSpace(mustLite(t, d, "exec", "web1", "--", "systemctl", "is-system-running", "--wait")); out != "running" {
		t.Errorf("systemd under lite's seccomp policy: %q, want running", out)
	}
	probe := buildProbe(t, "sysprobe")
	mustLite(t, d, "file", "push", "--mode", "0755", probe, "web1/usr/local/bin/sysprobe")
	t.Cleanup(func() {
		d.Lite("exec", "web1", "--", "sh", "-c", "umount /tmp/mp-tmpfs /tmp/mp-cg 2>/dev/null; rm -rf /usr/local/bin/sysprobe /tmp/mp-tmpfs /tmp/mp-cg")
	})
	for _, c := range [][2]string{{"fsopen", "tmpfs"}, {"fsmount", "tmpfs"}, {"open_tree", "/"}, {"mount_setattr", "/tmp"}} {
		if out := mustLite(t, d, "exec", "web1", "--", "sysprobe", c[0], c[1]); out != c[0]+": ENOSYS\n" {
			t.Errorf("sysprobe %s %s: %q, want ENOSYS from lite's seccomp policy", c[0], c[1], out)
		}
	}
	sh := func(script string) (string, int) {
		out, stderr, code := d.Lite("exec", "web1", "--", "sh", "-c", script)
		return strings.TrimSpace(out + stderr), code
	}
	// mount(2) of a file system a user namespace may mount still works (systemd needs it).
	if out, code := sh("mkdir -p /tmp/mp-tmpfs && mount -t tmpfs none /tmp/mp-tmpfs && umount /tmp/mp-tmpfs"); code != 0 {
		t.Errorf("tmpfs mount through mount(2): exit %d %s", code, out)
	}
	host, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(host), ":pids:") {
		t.Logf("the host has no cgroup v1 pids hierarchy; the v1 part does not apply here")
		return
	}
	// A cgroup v1 hierarchy can be mounted: it shows the container's own subtree (its
	// cgroup namespace), whose limit stays out of its reach, and no release_agent.
	out, code := sh("mkdir -p /tmp/mp-cg && mount -t cgroup -o pids none /tmp/mp-cg && ls /tmp/mp-cg")
	t.Logf("mount -t cgroup -o pids: exit %d: %s", code, out)
	if code == 0 {
		if strings.Contains(out, "lxc.payload") || strings.Contains(out, "release_agent") {
			t.Errorf("a cgroup v1 mount inside shows more than the container's subtree:\n%s", out)
		}
		if out, code := sh("echo max > /tmp/mp-cg/pids.max"); code == 0 {
			t.Errorf("container root raised its own pids.max through a cgroup v1 mount: %s", out)
		}
		if out, code := sh("echo /bin/true > /tmp/mp-cg/release_agent"); code == 0 {
			t.Errorf("container root wrote a release_agent: %s", out)
		}
		sh("umount /tmp/mp-cg")
	}
	// A new named hierarchy would be the host's: the kernel refuses it to a user namespace.
	if out, code := sh("mkdir -p /tmp/mp-cg && mount -t cgroup -o none,name=litemp none /tmp/mp-cg"); code == 0 {
		sh("umount /tmp/mp-cg")
		t.Errorf("container root created a named cgroup v1 hierarchy: %s", out)
	}
}

// buildProbe builds the static helper test/NAME for pushing into containers.
func buildProbe(t *testing.T, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command(goTool(), "build", "-o", out, "./test/"+name)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, b)
	}
	return out
}
