package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// lxdEnv is Debian's LXD 5.0 started by hand on a state dir of its own (LXD_DIR under /tmp),
// with a bridge without NAT or routing, a dir pool and, when btrfs-progs is there, a btrfs
// pool on a loop file LXD makes under its state dir.
type lxdEnv struct {
	dir, state, conf string
	daemon           *exec.Cmd
	bridge           string
	pools            []string
}

const (
	lxdBridge = "ltbenchbr0"
	lxdImage  = "bench-debian12"
)

// lxdSysctls are host settings LXD may change on start or on network creation; they are put
// back at the end.
var lxdSysctls = []string{"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "net.ipv6.conf.default.forwarding",
	"fs.inotify.max_user_instances", "fs.inotify.max_user_watches", "kernel.keys.maxkeys", "kernel.keys.maxbytes"}

// aptInstall installs Debian packages that provide the missing command.
func aptInstall(ctx context.Context, cmd string, pkgs ...string) error {
	if _, err := exec.LookPath(cmd); err == nil {
		return nil
	}
	fmt.Printf("installing %s (apt-get)\n", strings.Join(pkgs, " "))
	args := append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)
	_, err := runCmd(ctx, []string{"DEBIAN_FRONTEND=noninteractive"}, "apt-get", args...)
	return err
}

func startLXD(ctx context.Context, cl *cleanups, img image) (*lxdEnv, error) {
	if err := aptInstall(ctx, "lxd", "lxd", "lxd-client"); err != nil {
		return nil, err
	}
	if err := aptInstall(ctx, "lxc", "lxd-client"); err != nil {
		return nil, err
	}
	btrfs := aptInstall(ctx, "mkfs.btrfs", "btrfs-progs") == nil
	e := &lxdEnv{bridge: lxdBridge}
	if linkExists(e.bridge) {
		return nil, fmt.Errorf("bridge %s already exists (left by an earlier run?): remove it with \"ip link del %s\"", e.bridge, e.bridge)
	}
	saved := map[string]string{}
	for _, k := range lxdSysctls {
		saved[k] = readSysctl(k)
	}
	if exec.Command("nft", "list", "table", "inet", "lxd").Run() != nil {
		cl.add("remove nft table inet lxd", func(context.Context) { _ = exec.Command("nft", "delete", "table", "inet", "lxd").Run() })
	}
	cl.add("restore sysctls LXD changed", func(context.Context) {
		for _, k := range lxdSysctls {
			if now := readSysctl(k); now != saved[k] && saved[k] != "" {
				fmt.Fprintf(os.Stderr, "cleanup: %s %s -> %s (LXD changed it)\n", k, now, saved[k])
				_ = os.WriteFile("/proc/sys/"+strings.ReplaceAll(k, ".", "/"), []byte(saved[k]), 0o644)
			}
		}
	})
	if err := e.spawn(cl, "lite-bench-lxd-", "lxd"); err != nil {
		return nil, err
	}
	fmt.Printf("lxd started by hand: LXD_DIR=%s\n", e.state)
	if _, err := e.lxd(ctx, "waitready", "--timeout", "60"); err != nil {
		return nil, err
	}
	subnet, err := freeSubnet(ctx)
	if err != nil {
		return nil, err
	}
	steps := [][]string{
		{"network", "create", e.bridge, "ipv4.address=" + subnet + ".1/24", "ipv4.nat=false", "ipv4.routing=false", "ipv6.address=none"},
		{"storage", "create", "dir", "dir"},
	}
	for _, s := range steps {
		if _, err := e.lxc(ctx, s...); err != nil {
			return nil, err
		}
	}
	e.pools = []string{"dir"}
	if btrfs {
		if _, err := e.lxc(ctx, "storage", "create", "btrfs", "btrfs", "size=12GiB"); err != nil {
			fmt.Fprintln(os.Stderr, "bench: no btrfs pool:", err)
		} else {
			e.pools = append(e.pools, "btrfs")
		}
	} else {
		fmt.Fprintln(os.Stderr, "bench: btrfs-progs missing and not installable: no btrfs pool")
	}
	for _, p := range e.pools {
		for _, s := range [][]string{
			{"profile", "create", p},
			{"profile", "device", "add", p, "root", "disk", "path=/", "pool=" + p},
			{"profile", "device", "add", p, "eth0", "nic", "network=" + e.bridge, "name=eth0"},
			// The image has no udev; with LXD's writable /sys, systemd-networkd waits for udev
			// forever and never asks for an address. lite and the floor mount /sys mixed (read
			// only but for the net class); give LXD the same.
			{"profile", "set", p, "raw.lxc", "lxc.mount.auto = sys:mixed"},
		} {
			if _, err := e.lxc(ctx, s...); err != nil {
				return nil, err
			}
		}
	}
	fmt.Printf("importing %s into LXD\n", img.tarball)
	if _, err := e.lxc(ctx, "image", "import", img.tarball, "--alias", lxdImage); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *lxdEnv) lxd(ctx context.Context, args ...string) (string, error) {
	return runCmd(ctx, []string{"LXD_DIR=" + e.state}, "lxd", args...)
}

func (e *lxdEnv) lxc(ctx context.Context, args ...string) (string, error) {
	return runCmd(ctx, []string{"LXD_DIR=" + e.state, "LXD_CONF=" + e.conf}, "lxc", args...)
}

// stop undoes startLXD in order; each step is best effort so one failure does not leave the
// rest behind.
func (e *lxdEnv) stop(ctx context.Context) {
	if e.daemon.ProcessState != nil {
		// Stopped by a failed restart row: start it again to delete what it runs.
		if e.StartDaemon(ctx) == nil {
			_, _ = e.lxd(ctx, "waitready", "--timeout", "60")
		}
	}
	if out, err := e.lxc(ctx, "list", "-c", "n", "--format", "csv"); err == nil {
		for _, n := range strings.Fields(out) {
			_, _ = e.lxc(ctx, "delete", "--force", n)
		}
		_, _ = e.lxc(ctx, "image", "delete", lxdImage)
		for _, p := range []string{"dir", "btrfs"} {
			_, _ = e.lxc(ctx, "profile", "delete", p)
			_, _ = e.lxc(ctx, "storage", "delete", p)
		}
		_, _ = e.lxc(ctx, "network", "delete", e.bridge)
	}
	done := make(chan struct{})
	go func() { _, _ = e.daemon.Process.Wait(); close(done) }()
	_, _ = e.lxd(ctx, "shutdown", "--timeout", "60")
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = e.daemon.Process.Kill()
		<-done
	}
	// Whatever LXD left (a crash, a kill): its dnsmasq and forkdns, the bridge, nft tables.
	killUnder(e.state)
	if linkExists(e.bridge) {
		_ = exec.Command("ip", "link", "del", e.bridge).Run()
	}
}

// removeDir unmounts whatever is still mounted under the state dir, detaches its loop
// devices and removes it.
func (e *lxdEnv) removeDir(ctx context.Context) {
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	lines := strings.Split(string(mi), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if f := strings.Fields(lines[i]); len(f) > 4 && strings.HasPrefix(f[4], e.dir+"/") {
			_ = syscall.Unmount(f[4], syscall.MNT_DETACH)
		}
	}
	out, _ := runCmd(ctx, nil, "losetup", "-J", "-l")
	var lo struct {
		Loopdevices []struct{ Name, BackFile string } `json:"loopdevices"`
	}
	if json.Unmarshal([]byte(out), &lo) == nil {
		for _, d := range lo.Loopdevices {
			if strings.HasPrefix(d.BackFile, e.dir+"/") {
				_ = exec.Command("losetup", "-d", d.Name).Run()
			}
		}
	}
	_ = os.RemoveAll(e.dir)
}

// killUnder kills processes whose command line names dir (LXD's dnsmasq, forkdns, monitors).
func killUnder(dir string) {
	entries, _ := os.ReadDir("/proc")
	for _, en := range entries {
		pid, err := strconv.Atoi(en.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.Contains(string(cmd), dir+"/") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// lxdSys is LXD on one pool: containers launch with the pool's profile.
type lxdSys struct {
	e    *lxdEnv
	pool string
}

func (e *lxdEnv) system(pool string) system { return &lxdSys{e: e, pool: pool} }

func (s *lxdSys) Name() string { return "lxd-" + s.pool }

func (s *lxdSys) Launch(ctx context.Context, name string) error {
	_, err := s.e.lxc(ctx, "launch", lxdImage, name, "-p", s.pool, "-q")
	return err
}

func (s *lxdSys) WaitRunning(ctx context.Context, name string) error {
	return waitSystemd(ctx, func(ctx context.Context, args ...string) (string, error) {
		return s.e.lxc(ctx, append([]string{"exec", name, "--"}, args...)...)
	})
}

func (s *lxdSys) HasIPv4(ctx context.Context, name string) (bool, error) {
	out, err := s.e.lxc(ctx, "list", "-c", "n4", "--format", "csv", name)
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(out, "\n") {
		if n, ip, ok := strings.Cut(line, ","); ok && n == name && strings.Contains(ip, ".") {
			return true, nil
		}
	}
	return false, nil
}

func (s *lxdSys) Exec(ctx context.Context, name string) error {
	_, err := s.e.lxc(ctx, "exec", name, "--", "true")
	return err
}

func (s *lxdSys) List(ctx context.Context) error {
	_, err := s.e.lxc(ctx, "list")
	return err
}

func (s *lxdSys) Stop(ctx context.Context, name string) error {
	_, err := s.e.lxc(ctx, "stop", name)
	return err
}

func (s *lxdSys) Delete(ctx context.Context, name string) error {
	_, err := s.e.lxc(ctx, "delete", "--force", name)
	return err
}

// DiskMiB: du of the container's directory on dir; on btrfs, the subvolume's exclusive bytes
// (du would count the blocks it shares with the image's snapshot).
func (s *lxdSys) DiskMiB(name string) (float64, error) {
	path := filepath.Join(s.e.state, "storage-pools", s.pool, "containers", name)
	if s.pool != "btrfs" {
		return duMiB(path)
	}
	out, err := exec.Command("btrfs", "filesystem", "du", "-s", "--raw", path).Output()
	if err != nil {
		return 0, fmt.Errorf("btrfs filesystem du %s: %w", path, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 2 {
		return 0, fmt.Errorf("btrfs filesystem du: unexpected output %q", out)
	}
	n, err := strconv.ParseFloat(f[1], 64)
	return n / (1 << 20), err
}

func (s *lxdSys) DaemonRSS() (float64, error) { return rssMiB(s.e.daemon.Process.Pid), nil }

func (s *lxdSys) Monitors() []int { return monitorPids(s.e.state) }

func (s *lxdSys) Copy(ctx context.Context, src, dst string) error {
	_, err := s.e.lxc(ctx, "copy", src, dst)
	return err
}

func (s *lxdSys) Snapshot(ctx context.Context, name, snap string) error {
	_, err := s.e.lxc(ctx, "snapshot", name, snap)
	return err
}

// spawn starts lxd by hand on a temp dir of its own (state and client config in it), with the
// cleanups that stop it and remove the dir; name says which lxd in errors and cleanup lines.
func (e *lxdEnv) spawn(cl *cleanups, prefix, name string) error {
	var err error
	if e.dir, err = os.MkdirTemp("", prefix); err != nil {
		return err
	}
	cl.add("remove "+e.dir, e.removeDir)
	if err := os.Chmod(e.dir, 0o711); err != nil {
		return err
	}
	e.state, e.conf = filepath.Join(e.dir, "state"), filepath.Join(e.dir, "conf")
	for _, d := range []string{e.state, e.conf} {
		if err := os.Mkdir(d, 0o711); err != nil {
			return err
		}
	}
	if err := e.StartDaemon(context.Background()); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	cl.add("stop "+name+" and remove its containers, image, pools and bridge", e.stop)
	return nil
}

// StartDaemon starts lxd on e.state (again, for the restart row); it does not wait for it.
func (e *lxdEnv) StartDaemon(context.Context) error {
	d := exec.Command("lxd", "--logfile", filepath.Join(e.dir, "lxd.log"))
	d.Env = append(os.Environ(), "LXD_DIR="+e.state)
	d.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := d.Start(); err != nil {
		return err
	}
	e.daemon = d
	return nil
}

// StopDaemon sends lxd SIGTERM, which stops the daemon and leaves instances running (SIGPWR
// or "lxd shutdown" would stop them).
func (e *lxdEnv) StopDaemon(ctx context.Context) error { return stopProc(ctx, e.daemon, "lxd") }

// States is LXD's list as name -> STATE.
func (e *lxdEnv) States(ctx context.Context) (map[string]string, error) {
	out, err := e.lxc(ctx, "list", "-c", "ns", "--format", "csv")
	return csvStates(out), err
}

func (s *lxdSys) StopDaemon(ctx context.Context) error  { return s.e.StopDaemon(ctx) }
func (s *lxdSys) StartDaemon(ctx context.Context) error { return s.e.StartDaemon(ctx) }
func (s *lxdSys) States(ctx context.Context) (map[string]string, error) {
	return s.e.States(ctx)
}
