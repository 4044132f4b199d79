package test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// hookMarker returns a file path in a directory the test made, and a raw.lxc hook line that
// would create it as host root if liblxc ever ran it. The test asserts the file never appears.
func hookMarker(t *testing.T) (marker, hook string) {
	t.Helper()
	marker = filepath.Join(t.TempDir(), "hook-ran")
	return marker, fmt.Sprintf("lxc.hook.pre-start = /bin/sh -c 'touch %s'", marker)
}

func requireAbsent(t *testing.T, path, what string) {
	t.Helper()
	if _, err := os.Lstat(path); err == nil {
		t.Errorf("%s: %s exists", what, path)
	}
}

// TestInputControlCharsAndHooks (issue 11, items 1 and 4): a newline in a device field or a
// config value, and raw.lxc hooks from an instance or a profile, are refused with one error
// line; after a restart of the container no hook ran and its lxc config holds no hook.
func TestInputControlCharsAndHooks(t *testing.T) {
	d := sharedDaemon(t)
	t.Cleanup(func() { d.Lite("profile", "delete", "hk-prof") })
	deleteOnCleanup(t, d, "hk1")
	mustLite(t, d, "launch", "debian/12", "hk1")
	waitRunning(t, d, "hk1")
	mustLite(t, d, "profile", "create", "hk-prof")
	mustLite(t, d, "profile", "add", "hk1", "hk-prof")
	marker, hook := hookMarker(t)
	src := t.TempDir()
	before := mustLite(t, d, "config", "show", "hk1")

	cases := []struct {
		args []string
		want string
	}{
		{[]string{"config", "device", "add", "hk1", "d1", "disk", "source=" + src, "path=/mnt/x\n" + hook}, "control character"},
		{[]string{"config", "device", "add", "hk1", "d1", "disk", "source=" + src + "\n" + hook, "path=/mnt/x"}, "control character"},
		{[]string{"config", "device", "add", "hk1", "d1", "unix-char", "source=/dev/null", "path=/dev/x\n" + hook}, "control character"},
		{[]string{"config", "device", "add", "hk1", "d1", "unix-char", "path=/dev/x\r", "major=1", "minor=3"}, "control character"},
		{[]string{"config", "device", "add", "hk1", "d\n1", "disk", "source=" + src, "path=/mnt/y"}, "device name"},
		{[]string{"config", "set", "hk1", "limits.memory=1GiB\n" + hook}, "control character"},
		{[]string{"config", "set", "hk1", "raw.lxc=" + hook}, "allow-raw-lxc-hooks"},
		{[]string{"config", "set", "hk1", "raw.lxc=lxc.apparmor.profile = unconfined"}, "allow-raw-lxc-hooks"},
		{[]string{"config", "set", "hk1", "raw.lxc=lxc.mount.entry = /etc etc none bind 0 0"}, "allow-raw-lxc-hooks"},
		{[]string{"profile", "set", "hk-prof", "raw.lxc=lxc.prlimit.nofile = 1024\n" + hook}, "allow-raw-lxc-hooks"},
		{[]string{"profile", "set", "default", "raw.lxc=" + hook}, "allow-raw-lxc-hooks"},
		{[]string{"profile", "device", "add", "hk-prof", "d1", "disk", "source=" + src, "path=/mnt/x\n" + hook}, "control character"},
	}
	for _, c := range cases {
		what := "lite " + strings.Join(c.args, " ")
		_, stderr, code := d.Lite(c.args...)
		oneLineError(t, fmt.Sprintf("%q", what), stderr, code, c.want)
	}
	if after := mustLite(t, d, "config", "show", "hk1"); after != before {
		t.Errorf("refused changes reached hk1:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// A raw.lxc that stays inside the container is still taken.
	mustLite(t, d, "profile", "set", "hk-prof", "raw.lxc=lxc.prlimit.nofile = 4096")
	mustLite(t, d, "restart", "hk1")
	waitRunning(t, d, "hk1")
	requireAbsent(t, marker, "after a restart")
	conf, err := os.ReadFile(filepath.Join(d.Dir, "containers", "hk1", "config"))
	if err != nil {
		t.Fatalf("hk1's lxc config: %v", err)
	}
	// lite writes hooks of its own (empty values that clear the distribution's, and the
	// rootfs remount before a reboot); none may carry what raw.lxc asked for.
	for _, l := range strings.Split(string(conf), "\n") {
		if strings.HasPrefix(l, "lxc.hook") && l != "lxc.hook.mount = " && l != "lxc.hook.post-stop = " &&
			l != "lxc.hook.pre-start = " && !strings.Contains(l, "/bin/mountpoint -q") {
			t.Errorf("hk1's lxc config holds a hook lite did not write: %q", l)
		}
	}
	if strings.Contains(string(conf), marker) || !strings.Contains(string(conf), "lxc.prlimit.nofile = 4096") {
		t.Errorf("hk1's lxc config:\n%s", conf)
	}
	if out := mustLite(t, d, "exec", "hk1", "--", "sh", "-c", "ulimit -n"); out != "4096\n" {
		t.Errorf("ulimit -n inside = %q, want the raw.lxc prlimit 4096", out)
	}
}

// TestInputCraftedBackup (issue 11, item 1): a backup whose index.yaml carries a newline in a
// device path, a raw.lxc hook or a foreign architecture is refused like API input, and
// leaves no instance, no directory and no hook run.
func TestInputCraftedBackup(t *testing.T) {
	d := sharedDaemon(t)
	deleteOnCleanup(t, d, "bk-hook")
	marker, hook := hookMarker(t)
	src := t.TempDir()
	part := string(tarOf(t, true, "metadata.yaml", "architecture: x86_64\n", "rootfs/", ""))
	index := func(arch, config, devices string) string {
		return "name: bk-hook\ninstance:\n  architecture: " + arch + "\n  config: " + config + "\n  devices: " + devices + "\n  profiles: [default]\n"
	}
	q := func(s string) string { return fmt.Sprintf("%q", s) } // a YAML double-quoted string
	cases := map[string]struct{ index, want string }{
		"device path newline": {index("x86_64", "{}", "{d1: {type: disk, source: "+q(src)+", path: "+q("/mnt/x\n"+hook)+"}}"), "control character"},
		"unix-char newline":   {index("x86_64", "{}", "{d1: {type: unix-char, source: /dev/null, path: "+q("/dev/x\n"+hook)+"}}"), "control character"},
		"raw.lxc hook":        {index("x86_64", "{raw.lxc: "+q(hook)+"}", "{}"), "allow-raw-lxc-hooks"},
		"config newline":      {index("x86_64", "{limits.memory: "+q("1GiB\n"+hook)+"}", "{}"), "control character"},
		"foreign arch":        {index(foreignArch(), "{}", "{}"), "Requested architecture isn't supported by this host"},
		"base image path":     {index("x86_64", "{volatile.base_image: ../../../../etc}", "{}"), "not an image fingerprint"},
		"base image newline":  {index("x86_64", "{volatile.base_image: "+q("abc\n"+hook)+"}", "{}"), "control character|fingerprint"},
		"yaml alias":          {"name: &n bk-hook\ninstance:\n  architecture: x86_64\n  description: *n\n", "aliases are not allowed"},
	}
	for what, c := range cases {
		path := filepath.Join(t.TempDir(), "evil.tar")
		if err := os.WriteFile(path, tarOf(t, false, "index.yaml", c.index, "instance.tar.gz", part), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := d.Lite("import", path)
		oneLineError(t, what, stderr, code, c.want)
	}
	if names, _ := d.instanceNames(); strings.Contains(strings.Join(names, ","), "bk-hook") {
		t.Errorf("a refused import left an instance: %v", names)
	}
	entries, _ := os.ReadDir(filepath.Join(d.Dir, "containers"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") || e.Name() == "bk-hook" {
			t.Errorf("a refused import left %s", e.Name())
		}
	}
	requireAbsent(t, marker, "after the refused imports")
}

// foreignArch is an architecture this host cannot run.
func foreignArch() string {
	if runtime.GOARCH == "s390x" {
		return "x86_64"
	}
	return "s390x"
}

// TestInputShiftAndSources (issue 11, item 5): shift=true on a host path needs lited's
// opt-in, and a source that leads into LITE_DIR however it is spelled is refused.
func TestInputShiftAndSources(t *testing.T) {
	d := sharedWeb1(t)
	src := t.TempDir()
	before := mustLite(t, d, "config", "show", "web1")
	up := strings.Repeat("../", strings.Count(d.Dir, "/")+2)
	cases := []struct{ source, extra, want string }{
		{src, "shift=true", "allow-shifted-host-paths"},
		{d.Dir + "/" + up + "etc", "shift=true", "allow-shifted-host-paths"},
		{d.Dir + "/containers/../containers", "", "lited's own state"},
		{d.Dir + "/./images", "", "lited's own state"},
		{src + "/" + up + strings.TrimPrefix(d.Dir, "/"), "", "lited's own state"},
		{d.Dir + "/" + up, "", "root directory"},
	}
	for _, c := range cases {
		args := []string{"config", "device", "add", "web1", "sh1", "disk", "source=" + c.source, "path=/mnt/sh1"}
		if c.extra != "" {
			args = append(args, c.extra)
		}
		_, stderr, code := d.Lite(args...)
		oneLineError(t, strings.Join(args, " "), stderr, code, c.want)
	}
	if after := mustLite(t, d, "config", "show", "web1"); after != before {
		t.Errorf("refused devices reached web1:\n%s", after)
	}
	if _, _, code := d.Lite("exec", "web1", "--", "test", "-e", "/mnt/sh1"); code == 0 {
		t.Error("/mnt/sh1 exists in web1 after refused devices")
	}
}

// TestInputNamesAndSnapshots (issue 11, items 11, 12, 13 and the --cwd part of 17): names
// differing only in case are refused, empty snapshot names are refused, bad cwds are refused,
// and the default profile's process limit is what the container sees.
func TestInputNamesAndSnapshots(t *testing.T) {
	d := sharedWeb1(t)
	deleteOnCleanup(t, d, "WEB1", "Web1", "cs-x")
	rowsBefore := listCSV(t, d, "nS")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"init", "debian/12", "WEB1"}, `already exists as "web1"`},
		{[]string{"launch", "debian/12", "Web1"}, `already exists as "web1"`},
		{[]string{"copy", "web1", "WEB1"}, `already exists as "web1"`},
		{[]string{"snapshot", "web1", ""}, "snapshot name"},
		{[]string{"snapshot", "web1", "a/b"}, "snapshot name"},
		{[]string{"snapshot", "web1", ".hidden"}, "snapshot name"},
		{[]string{"restore", "web1", ""}, "snapshot name"},
		{[]string{"copy", "web1/", "cs-x"}, "snapshot name"},
		{[]string{"rename", "web1/", "web1/x"}, "snapshot name"},
		{[]string{"exec", "web1", "--cwd", "/nonexistent", "--", "true"}, `/nonexistent`},
		{[]string{"exec", "web1", "--cwd", "/etc/hostname", "--", "true"}, `/etc/hostname`},
		{[]string{"exec", "web1", "--cwd", "tmp", "--", "true"}, `absolute`},
		{[]string{"image", "alias", "create", "../x", "debian/12"}, "alias"},
		{[]string{"image", "alias", "create", "../../../../etc/passwd", "debian/12"}, "alias"},
		{[]string{"image", "alias", "create", "/x", "debian/12"}, "alias"},
		{[]string{"image", "alias", "create", "a//b", "debian/12"}, "alias"},
		{[]string{"image", "alias", "rename", "debian/12", "../x"}, "alias"},
	}
	for _, c := range cases {
		what := fmt.Sprintf("%q", "lite "+strings.Join(c.args, " "))
		_, stderr, code := d.Lite(c.args...)
		oneLineError(t, what, stderr, code, c.want)
	}
	if rows := listCSV(t, d, "nS"); fmt.Sprint(rows) != fmt.Sprint(rowsBefore) {
		t.Errorf("instances or snapshots changed:\nbefore %q\nafter  %q", rowsBefore, rows)
	}
	if out := mustLite(t, d, "image", "alias", "list", "--format", "csv"); strings.Contains(out, "..") || strings.Contains(out, "a//b") {
		t.Errorf("aliases after refusals:\n%s", out)
	}
	if out := mustLite(t, d, "exec", "web1", "--cwd", "/tmp", "--", "pwd"); out != "/tmp\n" {
		t.Errorf("exec --cwd /tmp ran in %q", out)
	}
	// The default profile's limits.processes reaches the container's pids cgroup.
	if v := mustLite(t, d, "profile", "get", "default", "limits.processes"); v != "10000\n" {
		t.Errorf("default profile limits.processes = %q", v)
	}
	if out := mustLite(t, d, "exec", "web1", "--", "cat", "/sys/fs/cgroup/pids/pids.max"); out != "10000\n" {
		t.Errorf("web1's pids.max = %q, want the default profile's 10000", out)
	}
}

// TestInputHostileImages (issue 11, item 12): images without a rootfs directory, with a rootfs
// that is a file, with YAML aliases in metadata.yaml, or for an architecture the host cannot
// run are refused at import with one error line and leave no image.
func TestInputHostileImages(t *testing.T) {
	d := sharedDaemon(t)
	before := mustLite(t, d, "image", "list", "--format", "csv")
	meta := "architecture: x86_64\ncreation_date: 1700000000\n"
	bomb := "architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  a0: &a0 lol\n"
	for i := 1; i < 10; i++ {
		bomb += fmt.Sprintf("  a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 9), ","))
	}
	cases := map[string]struct {
		data []byte
		want string
	}{
		"no rootfs":    {tarOf(t, true, "metadata.yaml", meta), "no rootfs"},
		"rootfs file":  {tarOf(t, true, "metadata.yaml", meta, "rootfs", "not a dir"), "rootfs is not a directory"},
		"rootfs link":  {tarOf(t, true, "metadata.yaml", meta, "rootfs", "->/"), "rootfs"},
		"alias bomb":   {tarOf(t, true, "metadata.yaml", bomb, "rootfs/", ""), "aliases are not allowed"},
		"foreign arch": {tarOf(t, true, "metadata.yaml", strings.Replace(meta, "x86_64", foreignArch(), 1), "rootfs/", ""), "Requested architecture isn't supported by this host"},
	}
	for what, c := range cases {
		path := filepath.Join(t.TempDir(), "evil.tar.gz")
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := d.Lite("image", "import", path, "--alias", "evil-"+strings.ReplaceAll(what, " ", "-"))
		oneLineError(t, what, stderr, code, c.want)
	}
	if after := mustLite(t, d, "image", "list", "--format", "csv"); after != before {
		t.Errorf("images changed after refused imports:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestInputHostOptIns (issue 11, items 4 and 5): on a lited started with
// LITE_ALLOW_RAW_LXC_HOOKS and LITE_ALLOW_SHIFTED_HOST_PATHS, a raw.lxc hook does run (so the
// refusals above are what keeps it from running) and shift=true mounts a host path with the
// container's root as owner, hotplugged and from the start config.
func TestInputHostOptIns(t *testing.T) {
	d := startDaemon(t, "LITE_ALLOW_RAW_LXC_HOOKS=true", "LITE_ALLOW_SHIFTED_HOST_PATHS=true")
	const name = "optin1"
	deleteOnCleanup(t, d, name)
	src, err := os.MkdirTemp("/tmp", "lite-input-src-")
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
	marker, hook := hookMarker(t)
	mustLite(t, d, "launch", "debian/12", name, "-c", "raw.lxc="+hook)
	waitRunning(t, d, name)
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("with the opt-in, the raw.lxc hook did not run: %v", err)
	}
	// Hotplugged: the host's root-owned file is root's inside, and root inside can write it.
	mustLite(t, d, "config", "device", "add", name, "shared", "disk", "source="+src, "path=/mnt/deep/shared", "shift=true")
	if got := mustLite(t, d, "exec", name, "--", "sh", "-c", "stat -c %u /mnt/deep/shared/hello && echo more >> /mnt/deep/shared/hello && tail -1 /mnt/deep/shared/hello"); got != "0\nmore\n" {
		t.Errorf("shifted mount, hotplugged: %q, want owner 0 and a successful append", got)
	}
	if b, _ := os.ReadFile(src + "/hello"); string(b) != "from the host\nmore\n" {
		t.Errorf("host file after the write through the shifted mount: %q", b)
	}
	mustLite(t, d, "config", "device", "remove", name, "shared")
	// From the start config after a restart. The state dir stays refused even with the opt-in.
	mustLite(t, d, "config", "device", "add", name, "shared", "disk", "source="+src, "path=/shared", "shift=true")
	_, stderr, code := d.Lite("config", "device", "add", name, "state", "disk", "source="+d.Dir+"/containers/..", "path=/state", "shift=true")
	oneLineError(t, "shift of LITE_DIR with the opt-in", stderr, code, "lited's own state")
	mustLite(t, d, "restart", name)
	if got := mustLite(t, d, "exec", name, "--", "stat", "-c", "%u", "/shared/hello"); got != "0\n" {
		t.Errorf("owner through the shifted mount after a restart: %q", got)
	}
}
