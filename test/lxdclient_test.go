package test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// lxcClient runs LXD's own `lxc` 5.0 client (Debian lxd-client) against a lited: its socket
// through LXD_SOCKET, a scratch config dir, so nothing of the host's LXD setup is used and no
// image server is contacted (only the unix:// remote "local" is ever addressed).
type lxcClient struct {
	d    *Daemon
	conf string
}

func newLXCClient(t *testing.T, d *Daemon) *lxcClient {
	t.Helper()
	if _, err := exec.LookPath("lxc"); err != nil {
		t.Fatalf("LXD's lxc client is missing (scripts/install-deps.sh --test installs lxd-client): %v", err)
	}
	conf := t.TempDir()
	// A config.yml in place skips the client's first-run probe and hints.
	cfg := "default-remote: local\nremotes:\n  local:\n    addr: unix://\n    public: false\n"
	if err := os.WriteFile(filepath.Join(conf, "config.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &lxcClient{d: d, conf: conf}
}

func (c *lxcClient) env() []string {
	return append(os.Environ(), "LXD_CONF="+c.conf, "HOME="+c.conf, "LXD_SOCKET="+c.d.Socket, "LXD_DIR=/nonexistent-lxd-dir")
}

// run runs lxc with stdin; a hang is an error of its own (the client must never hang).
func (c *lxcClient) run(stdin string, args ...string) (string, string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "lxc", args...)
	cmd.Env = c.env()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.String(), errb.String() + "\n(lxc hung: killed after 5 minutes)", -1
	}
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return out.String(), errb.String(), code
}

// must runs lxc and fails the test unless it exits 0.
func (c *lxcClient) must(t *testing.T, args ...string) string {
	t.Helper()
	return c.mustIn(t, "", args...)
}

func (c *lxcClient) mustIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, stderr, code := c.run(stdin, args...)
	if code != 0 {
		t.Fatalf("lxc %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, stderr)
	}
	return out
}

// fails runs lxc, wants a non-zero exit and an error naming want.
func (c *lxcClient) fails(t *testing.T, want string, args ...string) {
	t.Helper()
	out, stderr, code := c.run("", args...)
	if code == 0 || !strings.Contains(stderr, want) {
		t.Errorf("lxc %s: exit %d, stderr %q, stdout %q; want a failure naming %q", strings.Join(args, " "), code, stderr, out, want)
	}
}

// TestLXDClient drives lited with LXD's lxc client through the commands that have a lite
// counterpart, and checks each result with lite or inside the container.
func TestLXDClient(t *testing.T) {
	d := sharedWeb1(t) // lxc launch needs the debian/12 image that lite launch builds
	c := newLXCClient(t, d)
	deleteOnCleanup(t, d, "lx1", "lx2", "lx3", "lx4", "lx5")
	c.must(t, "launch", "debian/12", "lx1")
	waitRunning(t, d, "lx1")
	if out := c.must(t, "list", "--format", "csv", "-c", "ns"); !strings.Contains(out, "lx1,RUNNING") {
		t.Errorf("lxc list: %q", out)
	}
	if out := c.must(t, "list", "lx1", "--format", "csv", "-c", "n4"); !strings.Contains(out, "lx1,") {
		t.Errorf("lxc list lx1 (a filter): %q", out)
	}
	t.Run("exec", func(t *testing.T) { lxcExec(t, c) })
	t.Run("files", func(t *testing.T) { lxcFiles(t, c) })
	t.Run("config and profiles", func(t *testing.T) { lxcConfig(t, c) })
	t.Run("snapshots", func(t *testing.T) { lxcSnapshots(t, c) })
	t.Run("copy move publish images", func(t *testing.T) { lxcCopyPublish(t, c) })
	t.Run("metadata and templates", func(t *testing.T) { lxcMetadata(t, c) })
	t.Run("export import", func(t *testing.T) { lxcExportImport(t, c) })
	t.Run("networks", func(t *testing.T) { lxcNetworks(t, c) })
	t.Run("info query and refusals", func(t *testing.T) { lxcInfo(t, c) })
	c.must(t, "delete", "--force", "lx1")
	if out := mustLite(t, d, "list", "--format", "csv", "-c", "n"); strings.Contains(out, "lx1") {
		t.Errorf("lx1 still listed after lxc delete --force: %q", out)
	}
}

func lxcExec(t *testing.T, c *lxcClient) {
	out, stderr, code := c.run("", "exec", "lx1", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
	if code != 3 || out != "out\n" || stderr != "err\n" {
		t.Errorf("exec: exit %d, stdout %q, stderr %q; want 3, out, err", code, out, stderr)
	}
	// --cwd, --user and --group need container_exec_user_group_cwd.
	if out := c.must(t, "exec", "lx1", "--cwd", "/tmp", "--", "pwd"); out != "/tmp\n" {
		t.Errorf("exec --cwd /tmp: pwd says %q", out)
	}
	if out := c.must(t, "exec", "lx1", "--user", "1000", "--group", "1001", "--", "sh", "-c", "id -u; id -g"); out != "1000\n1001\n" {
		t.Errorf("exec --user 1000 --group 1001: %q", out)
	}
	if out := c.mustIn(t, "piped in\n", "exec", "lx1", "--env", "FOO=bar", "--", "sh", "-c", "cat; echo $FOO"); out != "piped in\nbar\n" {
		t.Errorf("exec with stdin and --env: %q", out)
	}
}

func lxcFiles(t *testing.T, c *lxcClient) {
	d := c.d
	dir := t.TempDir()
	src := filepath.Join(dir, "f")
	if err := os.WriteFile(src, []byte("hello from lxc\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	c.must(t, "file", "push", src, "lx1/root/f")
	// A path without a leading slash is relative to the container's root, as in LXD.
	pulled := filepath.Join(dir, "pulled")
	c.must(t, "file", "pull", "lx1/root/f", pulled)
	if b, err := os.ReadFile(pulled); err != nil || string(b) != "hello from lxc\n" {
		t.Errorf("file pull lx1/root/f: %q %v", b, err)
	}
	// A tree, pushed into directories that do not exist yet (-p), and pulled back (-r).
	tree := filepath.Join(dir, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"a": "A\n", "sub/b": "B\n"} {
		if err := os.WriteFile(filepath.Join(tree, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a", filepath.Join(tree, "link")); err != nil {
		t.Fatal(err)
	}
	c.must(t, "file", "push", "-r", "-p", tree, "lx1/opt/deep/")
	if out := mustLite(t, d, "exec", "lx1", "--", "sh", "-c", "cat /opt/deep/tree/a /opt/deep/tree/sub/b; readlink /opt/deep/tree/link"); out != "A\nB\na\n" {
		t.Errorf("file push -r -p: the tree inside is %q", out)
	}
	back := filepath.Join(dir, "back")
	if err := os.Mkdir(back, 0o755); err != nil {
		t.Fatal(err)
	}
	c.must(t, "file", "pull", "-r", "lx1/opt/deep/tree", back)
	if b, err := os.ReadFile(filepath.Join(back, "tree", "sub", "b")); err != nil || string(b) != "B\n" {
		t.Errorf("file pull -r: sub/b = %q %v", b, err)
	}
	// file edit without a terminal takes the new content from stdin.
	c.mustIn(t, "edited\n", "file", "edit", "lx1/root/f")
	if out := mustLite(t, d, "exec", "lx1", "--", "cat", "/root/f"); out != "edited\n" {
		t.Errorf("file edit: /root/f is %q", out)
	}
	c.must(t, "file", "delete", "lx1/root/f")
	if _, _, code := d.Lite("exec", "lx1", "--", "test", "-e", "/root/f"); code != 1 {
		t.Errorf("file delete: /root/f still there (test -e exit %d)", code)
	}
	c.fails(t, "not found", "file", "pull", "lx1/root/nosuch", dir)
}

func lxcConfig(t *testing.T, c *lxcClient) {
	d := c.d
	c.must(t, "config", "set", "lx1", "user.color", "blue")
	if out := c.must(t, "config", "get", "lx1", "user.color"); out != "blue\n" {
		t.Errorf("config get: %q", out)
	}
	// config edit from stdin: the shown YAML with one more key.
	shown := c.must(t, "config", "show", "lx1")
	edited := strings.Replace(shown, "config:\n", "config:\n  user.size: large\n", 1)
	c.mustIn(t, edited, "config", "edit", "lx1")
	if out := mustLite(t, d, "config", "get", "lx1", "user.size"); out != "large\n" {
		t.Errorf("config edit: lite sees user.size %q", out)
	}
	c.fails(t, "unknown config key", "config", "set", "lx1", "no.such.key", "1")

	deleteProfileOnCleanup(t, d, "lxcprof")
	c.must(t, "profile", "create", "lxcprof")
	c.mustIn(t, "description: from lxc\nconfig:\n  environment.LXCPROF: \"yes\"\ndevices: {}\n", "profile", "edit", "lxcprof")
	c.must(t, "profile", "add", "lx1", "lxcprof")
	if out := c.must(t, "exec", "lx1", "--", "sh", "-c", "echo $LXCPROF"); out != "yes\n" {
		t.Errorf("profile environment.LXCPROF in exec: %q", out)
	}
	if out := mustLite(t, d, "profile", "show", "lxcprof"); !strings.Contains(out, "from lxc") {
		t.Errorf("lite profile show after lxc profile edit: %s", out)
	}
	c.must(t, "profile", "remove", "lx1", "lxcprof")
	c.must(t, "profile", "delete", "lxcprof")
}

// deleteProfileOnCleanup deletes a profile a test made, if it is still there.
func deleteProfileOnCleanup(t *testing.T, d *Daemon, name string) {
	t.Cleanup(func() {
		if _, _, code := d.Lite("profile", "show", name); code == 0 {
			if _, stderr, code := d.Lite("profile", "delete", name); code != 0 {
				t.Errorf("cleanup: lite profile delete %s: %s", name, stderr)
			}
		}
	})
}

func lxcSnapshots(t *testing.T, c *lxcClient) {
	d := c.d
	mustLite(t, d, "exec", "lx1", "--", "sh", "-c", "echo before > /root/state")
	c.must(t, "snapshot", "lx1", "s0")
	// --no-expiry needs snapshot_expiry_creation; with snapshots.expiry set it matters.
	c.must(t, "config", "set", "lx1", "snapshots.expiry", "1d")
	c.must(t, "snapshot", "lx1", "s1", "--no-expiry")
	var s1 struct {
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(c.must(t, "query", "/1.0/instances/lx1/snapshots/s1")), &s1); err != nil || s1.ExpiresAt.Unix() > 0 {
		t.Errorf("snapshot --no-expiry: expires_at %v (%v), want unset", s1.ExpiresAt, err)
	}
	mustLite(t, d, "exec", "lx1", "--", "sh", "-c", "echo after > /root/state")
	c.must(t, "restore", "lx1", "s0")
	waitRunning(t, d, "lx1")
	if out := mustLite(t, d, "exec", "lx1", "--", "cat", "/root/state"); out != "before\n" {
		t.Errorf("lxc restore lx1 s0: /root/state is %q", out)
	}
	if out := c.must(t, "info", "lx1"); !strings.Contains(out, "s0") || !strings.Contains(out, "s1") {
		t.Errorf("lxc info lists no snapshots s0, s1:\n%s", out)
	}
	c.must(t, "delete", "lx1/s1")
	c.fails(t, "not found", "restore", "lx1", "nosuch")
}

func lxcCopyPublish(t *testing.T, c *lxcClient) {
	d := c.d
	// The client sends the source's volatile.base_image on copy: accepted, not copied blindly.
	c.must(t, "copy", "lx1", "lx2")
	if out := mustLite(t, d, "config", "get", "lx2", "volatile.uuid"); out == mustLite(t, d, "config", "get", "lx1", "volatile.uuid") {
		t.Errorf("copy kept the source's volatile.uuid %q", out)
	}
	c.must(t, "move", "lx2", "lx3")
	if out := mustLite(t, d, "list", "--format", "csv", "-c", "ns"); !strings.Contains(out, "lx3,STOPPED") || strings.Contains(out, "lx2,") {
		t.Errorf("lxc move lx2 lx3: lite list says %q", out)
	}
	c.must(t, "publish", "lx3", "--alias", "lxcpub")
	t.Cleanup(func() { _, _, _ = d.Lite("image", "delete", "lxcpub") })
	dir := t.TempDir()
	c.must(t, "image", "export", "lxcpub", filepath.Join(dir, "out"))
	files, _ := filepath.Glob(filepath.Join(dir, "out*"))
	if len(files) != 1 {
		t.Fatalf("lxc image export wrote %v", files)
	}
	c.must(t, "image", "delete", "lxcpub")
	c.must(t, "image", "import", files[0], "--alias", "lxcimp")
	t.Cleanup(func() { _, _, _ = d.Lite("image", "delete", "lxcimp") })
	// An alias targets a fingerprint (or a unique prefix of one), as in LXD.
	m := regexp.MustCompile(`Fingerprint: ([0-9a-f]{64})`).FindStringSubmatch(c.must(t, "image", "info", "lxcimp"))
	if m == nil {
		t.Fatal("lxc image info lxcimp shows no fingerprint")
	}
	c.must(t, "image", "alias", "create", "lxcimp2", m[1][:12])
	if out := c.must(t, "image", "alias", "list", "--format", "csv"); !strings.Contains(out, "lxcimp2") {
		t.Errorf("image alias list: %q", out)
	}
	c.must(t, "image", "alias", "delete", "lxcimp2")
	c.must(t, "image", "delete", "lxcimp")
	c.must(t, "delete", "lx3")
}

func lxcNetworks(t *testing.T, c *lxcClient) {
	d := c.d
	name := "ltnx" + d.Net[3:9]
	trackNetwork(name)
	gw := createLabNetwork(t, d, name) // a free subnet; lxc then edits and deletes it
	t.Cleanup(func() { _, _, _ = d.Lite("network", "delete", name) })
	if out := c.must(t, "network", "list", "--format", "csv"); !strings.Contains(out, name) {
		t.Errorf("network list: %q", out)
	}
	c.must(t, "network", "set", name, "user.owner", "lxc")
	if out := c.must(t, "network", "get", name, "user.owner"); out != "lxc\n" {
		t.Errorf("network get: %q", out)
	}
	if out := c.must(t, "network", "show", name); !strings.Contains(out, gw) {
		t.Errorf("network show lacks %s:\n%s", gw, out)
	}
	if out := c.must(t, "network", "info", name); !strings.Contains(out, gw) {
		t.Errorf("network info lacks %s:\n%s", gw, out)
	}
	c.must(t, "network", "delete", name)
	c.fails(t, "not found", "network", "show", name)
}

func lxcInfo(t *testing.T, c *lxcClient) {
	if out := c.must(t, "info", "lx1", "--show-log"); !strings.Contains(out, "Log:") {
		t.Errorf("info --show-log:\n%s", out)
	}
	if out := c.must(t, "query", "/1.0/instances/lx1/state"); !strings.Contains(out, `"status": "Running"`) {
		t.Errorf("query state: %s", out)
	}
	// What lite does not do answers in LXD's error shape, at once.
	c.fails(t, "storage", "storage", "list")
	c.fails(t, "Project not found", "list", "--project", "other")
	c.fails(t, "not found", "info", "nosuch")
}
