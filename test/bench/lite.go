package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// lite is lite under test: its own lited on a temporary LITE_DIR, with a default network of
// its own without NAT.
type lite struct {
	bin, dir      string
	daemon        *exec.Cmd
	net, table    string
	sysctlChanges []string
	pprof         string // lited --pprof ADDR ("" = off)
	// prefix runs lited (and the cleanup's ip and nft) in a cluster member's namespaces
	// (test/clusternet); empty on the host.
	prefix []string
}

// image is what lite prepared and the others reuse: the LXD unified tarball and the rootfs
// layer already shifted to the container id range.
type image struct {
	fp, tarball, layer string
	uid, gid           int
}

// watchedSysctls are the host limits lited may raise at start (lxd-lite/daemon/host.go).
var watchedSysctls = []string{"fs.inotify.max_user_instances", "fs.inotify.max_user_watches",
	"fs.inotify.max_queued_events", "kernel.keys.maxkeys", "kernel.keys.maxbytes",
	"net.ipv4.neigh.default.gc_thresh2", "net.ipv4.neigh.default.gc_thresh3"}

func readSysctl(key string) string {
	b, _ := os.ReadFile("/proc/sys/" + strings.ReplaceAll(key, ".", "/"))
	return strings.TrimSpace(string(b))
}

func startLite(ctx context.Context, cl *cleanups, pprof string) (*lite, error) {
	l := &lite{pprof: pprof}
	var err error
	if l.bin, err = os.MkdirTemp("", "lite-bench-bin-"); err != nil {
		return nil, err
	}
	cl.add("remove lite binaries", func(context.Context) { _ = os.RemoveAll(l.bin) })
	for _, c := range []string{"lited", "lite"} {
		if out, err := exec.CommandContext(ctx, "go", "build", "-tags=libsqlite3", "-o", filepath.Join(l.bin, c), "./cmd/"+c).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %s: %v: %s", c, err, out)
		}
	}
	before := map[string]string{}
	for _, k := range watchedSysctls {
		before[k] = readSysctl(k)
	}
	if err := l.spawn(ctx, cl, ""); err != nil {
		return nil, err
	}
	for _, k := range watchedSysctls {
		if now := readSysctl(k); now != before[k] {
			l.sysctlChanges = append(l.sysctlChanges, fmt.Sprintf("%s %s -> %s", k, before[k], now))
		}
	}
	if len(l.sysctlChanges) > 0 {
		fmt.Printf("lited raised host sysctls at start: %s\n", strings.Join(l.sysctlChanges, ", "))
	}
	return l, nil
}

// spawn starts a lited of l.bin on a new LITE_DIR with its own network and table (tag tells
// a second daemon's names apart) and waits until it answers.
func (l *lite) spawn(ctx context.Context, cl *cleanups, tag string) error {
	var err error
	if l.dir, err = os.MkdirTemp("", "lite-bench-"); err != nil {
		return err
	}
	cl.add("remove "+l.dir, func(context.Context) { _ = os.RemoveAll(l.dir) })
	if err := os.Chmod(l.dir, 0o711); err != nil {
		return err
	}
	l.net, l.table = "ltb"+suffix()+tag, "lite_bench_"+suffix()+tag
	if err := l.StartDaemon(ctx); err != nil {
		return err
	}
	cl.add("stop lited and its network", l.stop)
	return l.waitAPI(ctx)
}

// StartDaemon starts lited on l.dir (again, for the restart row), its log appended to
// LITE_DIR/lited.log; it does not wait for the API.
func (l *lite) StartDaemon(context.Context) error {
	log, err := os.OpenFile(filepath.Join(l.dir, "lited.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	// lited resolves LITE_HOSTS_FILE's path, so it must exist (/etc/hosts always does).
	hosts, err := os.OpenFile(filepath.Join(l.dir, "hosts"), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	hosts.Close()
	var args []string
	if l.pprof != "" {
		args = []string{"--pprof", l.pprof}
	}
	argv := append(append(append([]string{}, l.prefix...), filepath.Join(l.bin, "lited")), args...)
	d := exec.Command(argv[0], argv[1:]...)
	// The lab row's node names go to a hosts file of this lited's own, not the host's.
	d.Env = append(os.Environ(), "LITE_DIR="+l.dir, "LITE_DEFAULT_NETWORK="+l.net, "LITE_DEFAULT_NAT=false", "LITE_NFT_TABLE="+l.table,
		"LITE_HOSTS_FILE="+filepath.Join(l.dir, "hosts"))
	d.Stdout, d.Stderr = log, log
	d.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := d.Start(); err != nil {
		return fmt.Errorf("start lited: %w", err)
	}
	l.daemon = d
	return nil
}

// StopDaemon sends lited SIGTERM (containers keep running) and waits up to a minute.
func (l *lite) StopDaemon(ctx context.Context) error {
	return stopProc(ctx, l.daemon, "lited")
}

// States is lite's list as name -> STATE.
func (l *lite) States(ctx context.Context) (map[string]string, error) {
	out, err := l.lite(ctx, "list", "-c", "ns", "--format", "csv")
	return csvStates(out), err
}

// csvStates reads "name,STATE" lines.
func csvStates(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if n, st, ok := strings.Cut(strings.TrimSpace(line), ","); ok {
			m[n] = st
		}
	}
	return m
}

// stopProc sends SIGTERM to a daemon started by the bench and waits for it (SIGKILL after a
// minute, then an error).
func stopProc(ctx context.Context, d *exec.Cmd, what string) error {
	if d.ProcessState != nil {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- d.Wait() }()
	_ = d.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return nil
	case <-time.After(time.Minute):
	case <-ctx.Done():
	}
	_ = d.Process.Kill()
	<-done
	return fmt.Errorf("%s did not stop within a minute of SIGTERM (killed)", what)
}

// waitAPI waits until lite list answers.
func (l *lite) waitAPI(ctx context.Context) error {
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := l.lite(ctx, "list"); err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			log, _ := os.ReadFile(filepath.Join(l.dir, "lited.log"))
			if len(log) > 600 {
				log = log[len(log)-600:]
			}
			return fmt.Errorf("lited did not come up within 30 s; its log ends: %s", strings.TrimSpace(string(log)))
		}
	}
}

// stop deletes lite's containers, stops lited and removes its default network's dnsmasq,
// bridge and nft table, which outlive lited as containers would.
func (l *lite) stop(ctx context.Context) {
	if l.daemon == nil {
		return
	}
	if l.daemon.ProcessState != nil {
		// Stopped by a failed restart row: start it again to delete what it runs.
		if l.StartDaemon(ctx) == nil {
			_ = l.waitAPI(ctx)
		}
	}
	out, _ := l.lite(ctx, "list", "-c", "n", "--format", "csv")
	for _, name := range strings.Fields(out) {
		_, _ = l.lite(ctx, "delete", "--force", name)
	}
	_ = stopProc(ctx, l.daemon, "lited")
	l.cleanNet()
}

// cleanNet removes, once lited is stopped, its default network's dnsmasq, bridge and nft
// table.
func (l *lite) cleanNet() {
	if pidb, err := os.ReadFile(filepath.Join(l.dir, "networks", l.net, "dnsmasq.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(pidb))); err == nil && pid > 0 {
			if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(cmd), l.dir) {
				_ = syscall.Kill(pid, syscall.SIGTERM)
				// Gone before the namespaces it runs in are (a cluster member's).
				for i := 0; i < 250 && syscall.Kill(pid, 0) == nil; i++ {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}
	}
	_ = l.command("ip", "link", "del", l.net).Run()
	// Its nat/forward rules (inet) and its nic filters (bridge) share the table's name.
	for _, family := range []string{"inet", "bridge"} {
		_ = l.command("nft", "delete", "table", family, l.table).Run()
	}
}

// prepareImage launches (and deletes) a first container, which builds debian/12 or takes it
// from the build cache and unpacks its shifted layer, then finds both in LITE_DIR.
func (l *lite) prepareImage(ctx context.Context) (image, error) {
	fmt.Println("preparing debian/12 with lite (builds it if the cache is empty)")
	if _, err := l.lite(ctx, "launch", "debian/12", "warm"); err != nil {
		return image{}, err
	}
	_, _ = l.lite(ctx, "exec", "warm", "--", "systemctl", "is-system-running", "--wait")
	if _, err := l.lite(ctx, "delete", "--force", "warm"); err != nil {
		return image{}, err
	}
	imgs, err := os.ReadDir(filepath.Join(l.dir, "images"))
	if err != nil || len(imgs) != 1 {
		return image{}, fmt.Errorf("expected one image under %s/images (%v)", l.dir, err)
	}
	img := image{fp: imgs[0].Name()}
	base := filepath.Join(l.dir, "images", img.fp)
	img.tarball = filepath.Join(base, "image.tar.gz")
	if _, err := os.Stat(img.tarball); err != nil {
		return image{}, fmt.Errorf("image blob: %w", err)
	}
	layers, _ := os.ReadDir(filepath.Join(base, "layers"))
	for _, e := range layers {
		if u, g, ok := strings.Cut(e.Name(), "-"); ok && u != "0" {
			img.uid, _ = strconv.Atoi(u)
			img.gid, _ = strconv.Atoi(g)
			img.layer = filepath.Join(base, "layers", e.Name(), "rootfs")
		}
	}
	if img.layer == "" {
		return image{}, fmt.Errorf("no shifted layer under %s/layers", base)
	}
	return img, nil
}

// command is exec.Command under l.prefix.
func (l *lite) command(name string, args ...string) *exec.Cmd {
	argv := append(append(append([]string{}, l.prefix...), name), args...)
	return exec.Command(argv[0], argv[1:]...)
}

func (l *lite) lite(ctx context.Context, args ...string) (string, error) {
	return runCmd(ctx, []string{"LITE_DIR=" + l.dir}, filepath.Join(l.bin, "lite"), args...)
}

func (l *lite) Name() string { return "lite" }

func (l *lite) Launch(ctx context.Context, name string) error {
	_, err := l.lite(ctx, "launch", "debian/12", name)
	return err
}

func (l *lite) WaitRunning(ctx context.Context, name string) error {
	return waitSystemd(ctx, func(ctx context.Context, args ...string) (string, error) {
		return l.lite(ctx, append([]string{"exec", name, "--"}, args...)...)
	})
}

func (l *lite) HasIPv4(ctx context.Context, name string) (bool, error) {
	out, err := l.lite(ctx, "list", "-c", "n4", "--format", "csv", name)
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

func (l *lite) Exec(ctx context.Context, name string) error {
	_, err := l.lite(ctx, "exec", name, "--", "true")
	return err
}

func (l *lite) List(ctx context.Context) error {
	_, err := l.lite(ctx, "list")
	return err
}

func (l *lite) Stop(ctx context.Context, name string) error {
	_, err := l.lite(ctx, "stop", name)
	return err
}

func (l *lite) Delete(ctx context.Context, name string) error {
	_, err := l.lite(ctx, "delete", "--force", name)
	return err
}

func (l *lite) DiskMiB(name string) (float64, error) {
	return duMiB(filepath.Join(l.dir, "containers", name))
}

func (l *lite) DaemonRSS() (float64, error) { return rssMiB(l.daemon.Process.Pid), nil }

func (l *lite) Monitors() []int { return monitorPids(l.dir) }

// run runs a command with extra environment and returns its stdout; the error carries stderr.
func runCmd(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(errb.String()+" "+out.String()))
	}
	return out.String(), nil
}

// expectRunning checks the output of "systemctl is-system-running --wait".
func expectRunning(out string, err error) error {
	if s := strings.TrimSpace(out); s != "running" {
		return fmt.Errorf("systemd is %q, not running (%v)", s, err)
	}
	return nil
}

// waitSystemd runs "systemctl is-system-running --wait" through sysExec until it answers.
// Right after a start systemd may not listen yet ("Failed to connect to bus": lxc-start -d
// and LXD's launch return before that, lite's does not), so those answers are retried.
func waitSystemd(ctx context.Context, sysExec func(ctx context.Context, args ...string) (string, error)) error {
	for {
		out, err := sysExec(ctx, "systemctl", "is-system-running", "--wait")
		s := strings.TrimSpace(out)
		if s == "running" {
			return nil
		}
		if s != "" && s != "offline" && s != "unknown" || ctx.Err() != nil {
			return expectRunning(out, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func duMiB(path string) (float64, error) {
	out, err := exec.Command("du", "-sb", path).Output()
	if err != nil {
		return 0, fmt.Errorf("du %s: %w", path, err)
	}
	n, err := strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
	return float64(n) / (1 << 20), err
}

func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// monitorPids finds liblxc monitors of containers under dir ("[lxc monitor] DIR NAME").
func monitorPids(dir string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		s := strings.ReplaceAll(string(cmd), "\x00", " ")
		if strings.HasPrefix(s, "[lxc monitor]") && strings.Contains(s, dir+"/") || strings.HasPrefix(s, "[lxc monitor] "+dir+" ") {
			pids = append(pids, pid)
		}
	}
	return pids
}

var suffixOnce string

// suffix is a per-run random hex tag for names.
func suffix() string {
	if suffixOnce == "" {
		suffixOnce = strconv.FormatInt(time.Now().UnixNano()%0xffffff, 16)
	}
	return suffixOnce
}

func (l *lite) Copy(ctx context.Context, src, dst string) error {
	_, err := l.lite(ctx, "copy", src, dst)
	return err
}

func (l *lite) Snapshot(ctx context.Context, name, snap string) error {
	_, err := l.lite(ctx, "snapshot", name, snap)
	return err
}

// WidenNetwork gives lited's default network a subnet with room for hosts instances (its
// /24 holds 253), keeping the gateway: `lite network set NET ipv4.address=GW/N`.
func (l *lite) WidenNetwork(ctx context.Context, hosts int) error {
	out, err := l.lite(ctx, "network", "get", l.net, "ipv4.address")
	if err != nil {
		return err
	}
	gw, err := netip.ParsePrefix(strings.TrimSpace(out))
	if err != nil {
		return fmt.Errorf("network %s: ipv4.address %q: %w", l.net, out, err)
	}
	bits := gw.Bits()
	for bits > 16 && 1<<(32-bits)-3 < hosts {
		bits--
	}
	if bits == gw.Bits() {
		return nil
	}
	wide := netip.PrefixFrom(gw.Addr(), bits).String()
	fmt.Printf("   network %s: %s -> %s for %d instances\n", l.net, gw, wide, hosts)
	_, err = l.lite(ctx, "network", "set", l.net, "ipv4.address="+wide)
	return err
}
