package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// floor is the raw liblxc floor: lxc-start of lite's shifted image layer under an overlay
// (mounted on the host, as lite does), unprivileged (the same id map), with a hand-written config and one veth on a bridge of its
// own served by a dnsmasq of its own. No daemon, no list: lxc-info stands in for list.
type floor struct {
	dir, bridge string
	img         image
}

const floorBridge = "ltbenchfl0"

func startFloor(ctx context.Context, cl *cleanups, img image) (*floor, error) {
	f := &floor{img: img, bridge: floorBridge}
	var err error
	if f.dir, err = os.MkdirTemp("", "lite-bench-floor-"); err != nil {
		return nil, err
	}
	cl.add("remove "+f.dir, func(context.Context) { _ = os.RemoveAll(f.dir) })
	if err := os.Chmod(f.dir, 0o711); err != nil {
		return nil, err
	}
	if linkExists(f.bridge) {
		return nil, fmt.Errorf("bridge %s already exists (left by an earlier run?): remove it with \"ip link del %s\"", f.bridge, f.bridge)
	}
	subnet, err := freeSubnet(ctx)
	if err != nil {
		return nil, err
	}
	cl.add("remove bridge "+f.bridge, func(context.Context) { _ = exec.Command("ip", "link", "del", f.bridge).Run() })
	for _, args := range [][]string{
		{"link", "add", f.bridge, "type", "bridge"},
		{"addr", "add", subnet + ".1/24", "dev", f.bridge},
		{"link", "set", f.bridge, "up"},
	} {
		if _, err := runCmd(ctx, nil, "ip", args...); err != nil {
			return nil, err
		}
	}
	dns := exec.Command("dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--strict-order",
		"--bind-interfaces", "--except-interface=lo", "--interface="+f.bridge, "--listen-address="+subnet+".1",
		"--port=0", "--dhcp-authoritative", "--dhcp-no-override", "--pid-file=", "--no-ping", "--dhcp-rapid-commit",
		"--dhcp-range="+subnet+".2,"+subnet+".254,1h", "--dhcp-leasefile="+filepath.Join(f.dir, "leases"))
	dns.Stderr = os.Stderr
	if err := dns.Start(); err != nil {
		return nil, fmt.Errorf("dnsmasq for the floor: %w", err)
	}
	cl.add("stop the floor's dnsmasq", func(context.Context) {
		_ = dns.Process.Kill()
		_, _ = dns.Process.Wait()
	})
	cl.add("stop the floor's containers", func(ctx context.Context) {
		entries, _ := os.ReadDir(f.dir)
		for _, e := range entries {
			if e.IsDir() {
				_ = f.Delete(ctx, e.Name())
			}
		}
	})
	return f, nil
}

func (f *floor) Name() string { return "floor" }

func (f *floor) config(name string) string {
	lines := []string{
		"lxc.include = /usr/share/lxc/config/common.conf",
		"lxc.include = /usr/share/lxc/config/userns.conf",
		"lxc.arch = linux64",
		"lxc.uts.name = " + name,
		"lxc.rootfs.path = dir:" + filepath.Join(f.dir, name, "rootfs"),
		fmt.Sprintf("lxc.idmap = u 0 %d 65536", f.img.uid),
		fmt.Sprintf("lxc.idmap = g 0 %d 65536", f.img.gid),
		"lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed",
		"lxc.environment = container=lxc",
		"lxc.tty.max = 0",
		"lxc.pty.max = 1024",
		"lxc.signal.halt = SIGRTMIN+3",
		"lxc.net.0.type = veth",
		"lxc.net.0.name = eth0",
		"lxc.net.0.link = " + f.bridge,
		"lxc.net.0.flags = up",
		"lxc.autodev = 1",
		"lxc.log.file = " + filepath.Join(f.dir, name, "lxc.log"),
		"lxc.log.level = warn",
	}
	return strings.Join(lines, "\n") + "\n"
}

func (f *floor) Launch(ctx context.Context, name string) error {
	base := filepath.Join(f.dir, name)
	if err := os.Mkdir(base, 0o711); err != nil {
		return err
	}
	for _, d := range []string{"upper", "work"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			return err
		}
		if err := os.Chown(filepath.Join(base, d), f.img.uid, f.img.gid); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(base, "config"), []byte(f.config(name)), 0o600); err != nil {
		return err
	}
	// As lite does: the overlay is mounted on the host (redirect_dir=on), copied into the
	// container's mount namespace by lxc-start, and detached from the host once it runs.
	rootfs := filepath.Join(base, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return err
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s,redirect_dir=on,index=off,metacopy=off", f.img.layer, filepath.Join(base, "upper"), filepath.Join(base, "work"))
	if err := unix.Mount("overlay", rootfs, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay: %w", err)
	}
	if err := unix.Mount("", rootfs, "", unix.MS_PRIVATE, ""); err != nil {
		_ = unix.Unmount(rootfs, unix.MNT_DETACH)
		return err
	}
	_, err := runCmd(ctx, nil, "lxc-start", "-P", f.dir, "-n", name, "-d")
	if uerr := unix.Unmount(rootfs, unix.MNT_DETACH); uerr != nil && err == nil {
		err = uerr
	}
	return err
}

// WaitRunning asks systemd through lxc-attach (retried until systemd listens).
func (f *floor) WaitRunning(ctx context.Context, name string) error {
	return waitSystemd(ctx, func(ctx context.Context, args ...string) (string, error) {
		return runCmd(ctx, nil, "lxc-attach", append([]string{"-P", f.dir, "-n", name, "--"}, args...)...)
	})
}

func (f *floor) HasIPv4(ctx context.Context, name string) (bool, error) {
	out, err := runCmd(ctx, nil, "lxc-info", "-P", f.dir, "-n", name, "-iH")
	if err != nil {
		return false, err
	}
	return strings.Contains(out, "."), nil
}

func (f *floor) Exec(ctx context.Context, name string) error {
	_, err := runCmd(ctx, nil, "lxc-attach", "-P", f.dir, "-n", name, "--", "true")
	return err
}

func (f *floor) List(context.Context) error { return errNA }

func (f *floor) Stop(ctx context.Context, name string) error {
	_, err := runCmd(ctx, nil, "lxc-stop", "-P", f.dir, "-n", name)
	return err
}

func (f *floor) Delete(ctx context.Context, name string) error {
	base := filepath.Join(f.dir, name)
	if _, err := os.Stat(base); os.IsNotExist(err) {
		return nil
	}
	if out, _ := runCmd(ctx, nil, "lxc-info", "-P", f.dir, "-n", name, "-sH"); strings.TrimSpace(out) != "STOPPED" {
		if _, err := runCmd(ctx, nil, "lxc-stop", "-P", f.dir, "-n", name, "-k"); err != nil {
			return err
		}
	}
	_ = unix.Unmount(filepath.Join(base, "rootfs"), unix.MNT_DETACH) // left by a failed launch
	return os.RemoveAll(base)
}

func (f *floor) DiskMiB(name string) (float64, error) { return duMiB(filepath.Join(f.dir, name)) }

func (f *floor) DaemonRSS() (float64, error) { return 0, errNA }

func (f *floor) Monitors() []int { return monitorPids(f.dir) }

func linkExists(name string) bool {
	return exec.Command("ip", "link", "show", name).Run() == nil
}

// freeSubnet returns "10.A.B" such that 10.A.B.0/24 overlaps no address or route on the host.
func freeSubnet(ctx context.Context) (string, error) {
	routes, err := runCmd(ctx, nil, "ip", "-4", "route", "show", "table", "all")
	if err != nil {
		return "", err
	}
	addrs, err := runCmd(ctx, nil, "ip", "-4", "-o", "addr")
	if err != nil {
		return "", err
	}
	used := routes + "\n" + addrs
	for a := 200; a < 250; a++ {
		for b := 1; b < 250; b += 7 {
			p := fmt.Sprintf("10.%d.%d", a, b)
			if !strings.Contains(used, p+".") && !strings.Contains(used, fmt.Sprintf("10.%d.0.0", a)) && !strings.Contains(used, "10.0.0.0/8") && !taken[p] {
				taken[p] = true
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("no free 10.x.y.0/24 subnet")
}

// taken remembers subnets handed out in this run (the bridge may not exist yet).
var taken = map[string]bool{}
