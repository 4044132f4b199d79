package test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// ansibleRun is Debian's ansible pointed at lited: its modules get the socket as url:, its lxd
// connection plugin runs LXD's lxc client with the environment of c. Nothing is fetched from
// Galaxy; the collections are Debian's.
type ansibleRun struct {
	d    *Daemon
	lxc  *lxcClient
	home string
	dir  string // testdata/ansible
}

func newAnsible(t *testing.T, d *Daemon) *ansibleRun {
	t.Helper()
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Fatalf("ansible is missing (scripts/install-deps.sh --test installs Debian's ansible): %v", err)
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "ansible"))
	if err != nil {
		t.Fatal(err)
	}
	return &ansibleRun{d: d, lxc: newLXCClient(t, d), home: t.TempDir(), dir: dir}
}

// run runs an ansible command and returns its output and exit code.
func (a *ansibleRun) run(args ...string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = a.home
	cmd.Env = append(a.lxc.env(), "ANSIBLE_HOME="+a.home, "ANSIBLE_LOCAL_TEMP="+filepath.Join(a.home, "tmp"),
		"ANSIBLE_NOCOLOR=1", "ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3", "ANSIBLE_LOCALHOST_WARNING=false",
		"ANSIBLE_INVENTORY_UNPARSED_WARNING=false", "ANSIBLE_RETRY_FILES_ENABLED=false")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out) + "\n(ansible hung: killed after 5 minutes)", -1
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		return string(out) + err.Error(), -1
	}
	return string(out), 0
}

var recapRe = regexp.MustCompile(`localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0`)

// playbook runs container.yml (or another playbook on localhost) and returns the number of
// changed tasks; any failure fails the test.
func (a *ansibleRun) playbook(t *testing.T, file string, vars ...string) string {
	t.Helper()
	args := []string{"ansible-playbook", "-i", "localhost,", filepath.Join(a.dir, file), "-e", "sock=" + a.d.Socket}
	for _, v := range vars {
		args = append(args, "-e", v)
	}
	out, code := a.run(args...)
	m := recapRe.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("ansible-playbook %s %v: exit %d\n%s", file, vars, code, out)
	}
	return m[1]
}

// TestAnsible drives lited with Debian's Ansible: lxd_profile and lxd_container through every
// state (a second run of the same state changes nothing), wait_for_ipv4_addresses, config,
// profiles and a disk device; the lxd connection plugin (command, copy, shell) and the lxd
// inventory plugin. The container runs an image with python3 baked in by lite image build.
func TestAnsible(t *testing.T) {
	d := sharedDaemon(t)
	a := newAnsible(t, d)
	const name, image = "ans1", "debian12-python3"
	// Debian packages baked in at build time (cached by recipe and package list).
	if _, _, code := d.Lite("image", "info", image); code != 0 {
		mustLite(t, d, "image", "build", "debian/12", "--include", "python3", "--alias", image)
		t.Cleanup(func() { _, _, _ = d.Lite("image", "delete", image) })
	}
	// Not t.TempDir: its parents are 0700, out of reach of the container's unprivileged root.
	data, err := os.MkdirTemp("/tmp", dirPrefix+"ansdata-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(data) })
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	// Cleanups run last first: the container goes, then its profile, then the image.
	deleteProfileOnCleanup(t, d, name+"-prof")
	deleteOnCleanup(t, d, name)
	if err := os.WriteFile(filepath.Join(data, "hello"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	state := func(st string) string {
		t.Helper()
		return a.playbook(t, "container.yml", "cname="+name, "image="+image, "st="+st, "datadir="+data)
	}
	if n := state("started"); n == "0" {
		t.Error("first run of state started changed nothing")
	}
	requireStatus(t, d, name, "RUNNING")
	if out := mustLite(t, d, "config", "get", name, "user.role"); out != "web\n" {
		t.Errorf("user.role = %q", out)
	}
	if out := mustLite(t, d, "exec", name, "--", "cat", "/mnt/data/hello"); out != "from the host\n" {
		t.Errorf("disk device data: %q", out)
	}
	if n := state("started"); n != "0" {
		t.Errorf("second run of state started: changed=%s, want 0", n)
	}
	waitRunning(t, d, name)

	t.Run("connection plugin", func(t *testing.T) {
		inv := filepath.Join(a.home, "hosts")
		if err := os.WriteFile(inv, []byte(name+" ansible_connection=community.general.lxd\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, code := a.run("ansible-playbook", "-i", inv, filepath.Join(a.dir, "inside.yml")); code != 0 || !strings.Contains(out, "failed=0") {
			t.Fatalf("inside.yml: exit %d\n%s", code, out)
		}
		if out := mustLite(t, d, "exec", name, "--", "cat", "/root/from-ansible", "/root/from-shell"); out != "copied by ansible\nyes 42\n" {
			t.Errorf("files written by copy and shell: %q", out)
		}
	})
	t.Run("inventory plugin", func(t *testing.T) {
		tmpl, err := os.ReadFile(filepath.Join(a.dir, "lite.lxd.yml.in"))
		if err != nil {
			t.Fatal(err)
		}
		inv := filepath.Join(a.home, "lite.lxd.yml")
		if err := os.WriteFile(inv, []byte(strings.ReplaceAll(string(tmpl), "@SOCK@", d.Socket)), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, code := a.run("ansible-inventory", "-i", inv, "--list"); code != 0 || !strings.Contains(out, `"`+name+`"`) {
			t.Fatalf("ansible-inventory: exit %d\n%s", code, out)
		}
		// The plugin sets ansible_connection=ssh and ansible_host to the container's address (so
		// with LXD too): reach it through lxc instead, by name.
		out, code := a.run("ansible", "-i", inv, name, "-e", "ansible_connection=community.general.lxd", "-e", "ansible_host="+name,
			"-m", "command", "-a", "cat /etc/hostname")
		if code != 0 || !strings.Contains(out, name+" | CHANGED") {
			t.Errorf("ansible %s -m command: exit %d\n%s", name, code, out)
		}
	})

	for _, st := range []struct{ state, status string }{{"stopped", "STOPPED"}, {"frozen", "FROZEN"}} {
		if n := state(st.state); n == "0" {
			t.Errorf("state %s from another state changed nothing", st.state)
		}
		requireStatus(t, d, name, st.status)
		second := state(st.state)
		// lxd_container freezes again whatever the state (the module's way, as with LXD).
		if st.state != "frozen" && second != "0" {
			t.Errorf("second run of state %s: changed=%s, want 0", st.state, second)
		}
		requireStatus(t, d, name, st.status)
	}
	if n := state("restarted"); n == "0" {
		t.Error("state restarted changed nothing")
	}
	requireStatus(t, d, name, "RUNNING")

	if n := a.playbook(t, "cleanup.yml", "cname="+name); n == "0" {
		t.Error("state absent changed nothing")
	}
	if out := mustLite(t, d, "list", "--format", "csv", "-c", "n"); strings.Contains(out, name) {
		t.Errorf("%s still listed after state absent: %q", name, out)
	}
	if _, _, code := d.Lite("profile", "show", name+"-prof"); code == 0 {
		t.Errorf("profile %s-prof still there after state absent", name)
	}
	if n := a.playbook(t, "cleanup.yml", "cname="+name); n != "0" {
		t.Errorf("second run of state absent: changed=%s, want 0", n)
	}
}
