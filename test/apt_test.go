package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Software installs inside containers (issue 10): real Debian packages fetched on the host
// from the Debian archive (cached outside the checkout), served to the container as a local
// file: repository, installed, upgraded and purged with apt inside a running container, plus
// the file operations dpkg and admins rely on. Nothing inside the containers leaves the host.

// debCache keeps the fetched packages between runs.
const debCache = "/var/cache/lite-test/debs"

// aptPackages: jq and its libraries (directories under /usr/share/doc), tinyproxy (a daemon
// with a systemd unit, a system user and maintainer scripts) and what it needs beyond the
// image, attr (setfattr inside).
var aptPackages = []string{"jq", "libjq1", "libonig5", "tinyproxy", "tinyproxy-bin", "logrotate", "libpopt0", "attr", "libattr1"}

// bumpedOnig is the version of libonig5 rebuilt by the test, so that apt-get upgrade has
// something to do.
const bumpedOnig = "6.9.8-1+lite1"

// fetchDebs returns the cache dir holding every package of aptPackages, fetching the missing
// ones with apt-get download.
func fetchDebs(t *testing.T) string {
	t.Helper()
	if err := os.MkdirAll(debCache, 0o755); err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, p := range aptPackages {
		if m, _ := filepath.Glob(filepath.Join(debCache, p+"_*.deb")); len(m) == 0 {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		download := func() ([]byte, error) {
			cmd := exec.Command("apt-get", append([]string{"download", "-q"}, missing...)...)
			cmd.Dir = debCache
			return cmd.CombinedOutput()
		}
		out, err := download()
		if err != nil {
			// A fresh machine may have no (or old) package lists yet.
			run(t, "", "apt-get", "update", "-qq")
			out, err = download()
		}
		if err != nil {
			t.Fatalf("apt-get download %v on the host: %v\n%s", missing, err, out)
		}
	}
	return debCache
}

// run runs a host command and fails the test on error.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// buildRepos makes two flat apt repositories in a temp dir: base/ with the fetched packages,
// next/ with libonig5 rebuilt at bumpedOnig.
func buildRepos(t *testing.T) string {
	t.Helper()
	debs := fetchDebs(t)
	root, err := os.MkdirTemp("/tmp", "lite-e2e-apt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	base, next := filepath.Join(root, "base"), filepath.Join(root, "next")
	for _, d := range []string{base, next} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range aptPackages {
		m, _ := filepath.Glob(filepath.Join(debs, p+"_*.deb"))
		run(t, "", "cp", m[0], base)
	}
	onig, _ := filepath.Glob(filepath.Join(base, "libonig5_*.deb"))
	tree := filepath.Join(root, "onig")
	run(t, "", "dpkg-deb", "-R", onig[0], tree)
	control := filepath.Join(tree, "DEBIAN", "control")
	b, err := os.ReadFile(control)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Version: ") {
			lines[i] = "Version: " + bumpedOnig
		}
	}
	if err := os.WriteFile(control, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "", "dpkg-deb", "--root-owner-group", "-b", tree, filepath.Join(next, "libonig5_"+bumpedOnig+"_amd64.deb"))
	if err := os.RemoveAll(tree); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{base, next} {
		cmd := exec.Command("dpkg-scanpackages", "-m", ".", "/dev/null")
		cmd.Dir = d
		pk, err := cmd.Output() // stdout only: it reports on stderr
		if err != nil {
			t.Fatalf("dpkg-scanpackages in %s: %v", d, err)
		}
		if err := os.WriteFile(filepath.Join(d, "Packages"), pk, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// sh runs a shell script inside a container as root and returns its output.
func sh(t *testing.T, d *Daemon, name, script string) string {
	t.Helper()
	stdout, stderr, code := d.Lite("exec", name, "--env", "DEBIAN_FRONTEND=noninteractive", "--", "sh", "-ec", script)
	if code != 0 {
		t.Fatalf("%s: script failed (exit %d):\n%s\nstdout:\n%s\nstderr:\n%s", name, code, script, stdout, stderr)
	}
	return stdout
}

// aptInstall pushes the repositories into a running container, points apt at base/ only and
// installs jq, tinyproxy and attr; then purges and reinstalls tinyproxy and upgrades libonig5
// from next/.
func aptInstall(t *testing.T, d *Daemon, name, repos string) {
	t.Helper()
	mustLite(t, d, "file", "push", "-r", "-p", repos+"/base", repos+"/next", name+"/srv/repo/")
	sh(t, d, name, `rm -f /etc/apt/sources.list
find /etc/apt/sources.list.d -type f -delete
echo 'deb [trusted=yes] file:/srv/repo/base ./' > /etc/apt/sources.list.d/lite-test.list
apt-get update -q
apt-get install -y -q jq tinyproxy attr
test "$(echo '{"a":[1,2]}' | jq -c .a)" = "[1,2]"`)
	waitActive(t, d, name, "tinyproxy")
	sh(t, d, name, `apt-get remove --purge -y -q tinyproxy
test ! -e /etc/tinyproxy
if dpkg-query -W -f='${Status}' tinyproxy 2>/dev/null | grep -q 'install ok installed'; then echo still installed; exit 1; fi
if systemctl is-active -q tinyproxy; then echo still active; exit 1; fi
apt-get install -y -q tinyproxy
echo 'deb [trusted=yes] file:/srv/repo/next ./' >> /etc/apt/sources.list.d/lite-test.list
apt-get update -q
apt-get upgrade -y -q
test "$(dpkg-query -W -f='${Version}' libonig5)" = "`+bumpedOnig+`"
dpkg --audit`)
	waitActive(t, d, name, "tinyproxy")
}

// waitActive waits until a systemd unit inside the container is active.
func waitActive(t *testing.T, d *Daemon, name, unit string) {
	t.Helper()
	eventually(t, time.Minute, name+": "+unit+" active", func() (bool, string) {
		out, _, _ := d.Lite("exec", name, "--", "systemctl", "is-active", unit)
		return strings.TrimSpace(out) == "active", out
	})
}

// fileOps does, inside a running container, what overlay in the container's namespace could
// not (renaming directories that come from the image) and the other cases of issue 10.
const fileOps = `mv /usr/share/doc/bash /usr/share/doc/bash-renamed
mkdir -p /opt/w/sub && echo w > /opt/w/sub/f
mv /opt/w /opt/w2 && mv /opt/w2 /usr/share/doc/w3
mv /etc/default /etc/default-moved && mv /etc/default-moved /etc/default-back
ln /etc/debian_version /root/dv-link
echo x > /opt/hl && mkdir -p /srv/hl && ln /opt/hl /srv/hl/b
rm -rf /usr/share/man
chown -R 1000:1000 /usr/share/zoneinfo/Europe
echo a > /root/xa && setfattr -n user.lite -v ok /root/xa && setfattr -n user.lite -v img /etc/issue
cp /bin/true /root/captrue && setcap cap_net_bind_service+ep /root/captrue
truncate -s 1G /root/sparse
rm /etc/issue.net && mkdir /etc/issue.net && echo d > /etc/issue.net/x
rm -rf /etc/skel && echo f > /etc/skel
sync`

// verifyScript checks what aptInstall and fileOps left; it prints "ok".
const verifyScript = `set -x
test "$(echo '{"a":[1,2]}' | jq -c .a)" = "[1,2]"
test "$(dpkg-query -W -f='${Version}' libonig5)" = "` + bumpedOnig + `"
dpkg-query -W -f='${Status}' tinyproxy | grep -q 'install ok installed'
dpkg --audit
test -f /usr/share/doc/bash-renamed/copyright && test ! -e /usr/share/doc/bash
test "$(cat /usr/share/doc/w3/sub/f)" = w && test ! -e /opt/w && test ! -e /opt/w2
test -d /etc/default-back && test ! -e /etc/default && test ! -e /etc/default-moved
test -f /etc/debian_version && test "$(stat -c %i /etc/debian_version)" = "$(stat -c %i /root/dv-link)"
test "$(stat -c %i /opt/hl)" = "$(stat -c %i /srv/hl/b)" && test "$(stat -c %h /opt/hl)" = 2
test ! -e /usr/share/man
test -z "$(find /usr/share/zoneinfo/Europe ! -user 1000)"
test "$(getfattr --only-values -n user.lite /root/xa)" = ok && test "$(getfattr --only-values -n user.lite /etc/issue)" = img
getcap /root/captrue | grep -q cap_net_bind_service
test "$(stat -c %s /root/sparse)" = 1073741824
test "$(cat /etc/issue.net/x)" = d && test "$(cat /etc/skel)" = f
echo ok`

// verify checks a container launched, restored or copied from the installed one.
func verify(t *testing.T, d *Daemon, name string) {
	t.Helper()
	if out := sh(t, d, name, verifyScript); !strings.HasSuffix(out, "ok\n") {
		t.Fatalf("%s: %q", name, out)
	}
	waitActive(t, d, name, "tinyproxy")
	// Blocks of 512 bytes: the 1 GiB hole takes none of them.
	if out := strings.TrimSpace(sh(t, d, name, "stat -c %b /root/sparse")); out != "0" {
		t.Errorf("%s: sparse file takes %s blocks", name, out)
	}
}

// TestAptInContainer installs, upgrades and purges packages with apt in a running container
// on lite's overlay, does the directory renames, hard links and replacements of issue 10, then
// checks the result after a restart and in a snapshot restore, a copy and a container launched
// from the published image.
func TestAptInContainer(t *testing.T) {
	d := sharedDaemon(t)
	repos := buildRepos(t)
	deleteImageOnCleanup(t, d, "apt-img") // runs after the instances' cleanup
	deleteOnCleanup(t, d, "apt1", "apt2", "apt3")
	mustLite(t, d, "launch", "debian/12", "apt1")
	waitRunning(t, d, "apt1")
	if out := sh(t, d, "apt1", "grep ' / ' /proc/self/mountinfo"); strings.Contains(out, "nofollow") || strings.Contains(out, "userxattr") {
		t.Errorf("root overlay still mounted in the container's namespace: %s", out)
	}
	aptInstall(t, d, "apt1", repos)
	sh(t, d, "apt1", fileOps)
	verify(t, d, "apt1")
	mustLite(t, d, "restart", "apt1")
	waitRunning(t, d, "apt1")
	verify(t, d, "apt1")
	if m := mountsUnder(filepath.Join(d.Dir, "containers")); len(m) != 0 {
		t.Errorf("host mounts left under %s while containers run: %v", d.Dir, m)
	}

	mustLite(t, d, "snapshot", "apt1", "installed")
	sh(t, d, "apt1", "apt-get remove --purge -y -q jq tinyproxy && rm -rf /usr/share/doc/w3")
	mustLite(t, d, "restore", "apt1", "installed")
	waitRunning(t, d, "apt1")
	verify(t, d, "apt1")

	mustLite(t, d, "copy", "apt1", "apt2")
	mustLite(t, d, "start", "apt2")
	waitRunning(t, d, "apt2")
	verify(t, d, "apt2")

	mustLite(t, d, "stop", "apt1")
	mustLite(t, d, "publish", "apt1", "--alias", "apt-img")
	mustLite(t, d, "launch", "apt-img", "apt3")
	waitRunning(t, d, "apt3")
	verify(t, d, "apt3")
}

// TestAptPrivileged: the same installs in a privileged container.
func TestAptPrivileged(t *testing.T) {
	d := sharedDaemon(t)
	repos := buildRepos(t)
	deleteOnCleanup(t, d, "aptp")
	mustLite(t, d, "launch", "debian/12", "aptp", "-c", "security.privileged=true")
	waitRunning(t, d, "aptp")
	aptInstall(t, d, "aptp", repos)
	sh(t, d, "aptp", fileOps)
	mustLite(t, d, "restart", "aptp")
	waitRunning(t, d, "aptp")
	verify(t, d, "aptp")
}

// TestAptDirStorage: the same on the dir storage driver (lited -storage dir, what lite uses
// without overlayfs), with a snapshot restore and a copy.
func TestAptDirStorage(t *testing.T) {
	d := startDaemon(t, "LITE_STORAGE=dir")
	if out := mustLite(t, d, "info"); !strings.Contains(out, "dir") {
		t.Fatalf("lite info does not show the dir driver:\n%s", out)
	}
	repos := buildRepos(t)
	deleteOnCleanup(t, d, "aptd1", "aptd2")
	mustLite(t, d, "launch", "debian/12", "aptd1")
	waitRunning(t, d, "aptd1")
	if _, err := os.Stat(filepath.Join(d.Dir, "containers", "aptd1", "upper")); err == nil {
		t.Fatal("the dir driver made an overlay upper")
	}
	aptInstall(t, d, "aptd1", repos)
	sh(t, d, "aptd1", fileOps)
	verify(t, d, "aptd1")
	mustLite(t, d, "snapshot", "aptd1", "s0")
	sh(t, d, "aptd1", "apt-get remove --purge -y -q jq")
	mustLite(t, d, "restore", "aptd1", "s0")
	waitRunning(t, d, "aptd1")
	verify(t, d, "aptd1")
	mustLite(t, d, "copy", "aptd1", "aptd2")
	mustLite(t, d, "start", "aptd2")
	waitRunning(t, d, "aptd2")
	verify(t, d, "aptd2")
}
