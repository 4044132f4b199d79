// Package lxc is lite's container runtime on liblxc. It is the only package that imports
// go-lxc, so everything liblxc-specific (config keys, monitor, attach) stays here.
package lxc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	golxc "github.com/lxc/go-lxc"
	"golang.org/x/sys/unix"

	"lite/client/api"
	"lite/lxd-lite/instance"
)

// Driver runs containers with liblxc under LXCPath (lxc's "lxcpath": one directory per
// container holding its config file).
type Driver struct {
	LXCPath string
	// Log receives what the driver cleans up on the side (nil: discarded).
	Log *slog.Logger
}

func (d *Driver) warn(msg string, args ...any) {
	if d.Log != nil {
		d.Log.Warn(msg, args...)
	}
}

// New returns a driver for the containers under lxcPath.
func New(lxcPath string) *Driver { return &Driver{LXCPath: lxcPath} }

// Version returns liblxc's version.
func Version() string { return golxc.Version() }

func (d *Driver) open(name string) (*golxc.Container, error) {
	c, err := golxc.NewContainer(name, d.LXCPath)
	if err != nil {
		return nil, fmt.Errorf("liblxc container %q: %w", name, err)
	}
	return c, nil
}

// Start writes the lxc config and starts the container with lxc-start, liblxc's own small C
// front end. Its monitor is a fork of lxc-start (about 2 MiB), not of this multi-threaded Go
// daemon (about 12 MiB each, and a risk of leaking the daemon's descriptors into containers);
// exec.Cmd passes only the three standard descriptors, every other one is close-on-exec.
func (d *Driver) Start(ctx context.Context, spec instance.RunSpec) error {
	conf, err := Render(spec)
	if err != nil {
		return fmt.Errorf("start container %q: %w", spec.Name, err)
	}
	cfgPath := filepath.Join(spec.Dir, "config")
	if err := os.WriteFile(SeccompPath(spec), []byte(SeccompPolicy(spec)), 0o600); err != nil {
		return fmt.Errorf("write seccomp policy: %w", err)
	}
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("write lxc config: %w", err)
	}
	if err := os.Remove(spec.LogFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reset lxc log: %w", err)
	}
	// Cgroups an earlier run left make liblxc pick another name ("-1") or fail.
	if err := d.RemoveCgroups(spec.Name); err != nil {
		d.warn("remove cgroups left by an earlier run", "instance", spec.Name, "err", err)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "lxc-start", "-P", d.LXCPath, "-n", spec.Name, "-d")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Run(); err != nil {
		if cerr := d.removeFailedStartCgroups(spec.Name); cerr != nil {
			d.warn("remove cgroups of a failed start", "instance", spec.Name, "err", cerr)
		}
		return fmt.Errorf("start container %q: %s%s", spec.Name, strings.TrimSpace(out.String()), logTail(spec.LogFile))
	}
	c, err := d.open(spec.Name)
	if err != nil {
		return err
	}
	defer c.Release()
	if err := d.recordInit(spec.Name, c.InitPid()); err != nil {
		d.warn("record init and cgroups", "instance", spec.Name, "err", err)
	}
	waitSystemd(ctx, c.InitPid(), initWait)
	return nil
}

// initWait bounds how long Start waits for systemd to listen.
const initWait = 5 * time.Second

// waitSystemd returns once a systemd init listens on its private socket. Before that,
// systemctl inside fails ("Failed to connect to bus") and a halt signal is lost, so a start
// that returns earlier makes "launch, then exec systemctl" or "start, then stop" flaky. Other
// inits are not waited for.
func waitSystemd(ctx context.Context, pid int, limit time.Duration) {
	if pid <= 0 {
		return
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil || !strings.Contains(exe, "systemd") {
		return
	}
	sock := fmt.Sprintf("/proc/%d/root/run/systemd/private", pid)
	for deadline := time.Now().Add(limit); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			return
		}
	}
}

// logTail returns the last error lines of an lxc log, so a failed start says why.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var errs []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, " ERROR ") {
			errs = append(errs, l)
		}
	}
	if len(errs) > 3 {
		errs = errs[:3]
	}
	if len(errs) == 0 {
		return ""
	}
	return "\n" + strings.Join(errs, "\n")
}

// Stop shuts the container down cleanly (systemd halts on SIGRTMIN+3) or kills it.
func (d *Driver) Stop(ctx context.Context, name string, opts instance.StopOptions) error {
	c, err := d.open(name)
	if err != nil {
		return err
	}
	defer c.Release()
	if !c.Running() {
		return fmt.Errorf("instance %q is not running: %w", name, api.ErrNotRunning)
	}
	// A frozen container neither shuts down nor dies until it is thawed (its processes
	// cannot run their signal handlers, nor exit).
	if c.State() == golxc.FROZEN || c.State() == golxc.FREEZING {
		if err := d.thaw(c, name); err != nil {
			return fmt.Errorf("thaw instance %q to stop it: %w", name, err)
		}
	}
	if !opts.Force && opts.Timeout != 0 {
		if err := shutdown(ctx, c, opts.Timeout); err != nil {
			return fmt.Errorf("instance %q: %w", name, err)
		}
	} else if err := c.Stop(); err != nil && c.Running() {
		return fmt.Errorf("kill instance %q: %w", name, err)
	}
	d.waitMonitorGone(name, 10*time.Second)
	if err := d.RemoveCgroups(name); err != nil {
		d.warn("remove cgroups of a stopped container", "instance", name, "err", err)
	}
	return nil
}

// waitMonitorGone waits, up to limit, for the container's liblxc monitor to exit: after the
// container stops it still tears its network down (the host end of each veth), and a stop
// must not return while that runs, or a start or delete right after races it. /proc is
// scanned once for the monitor; then only its own entry is watched (a scan per round, with
// many stops at once, cost more CPU than the stops).
func (d *Driver) waitMonitorGone(name string, limit time.Duration) {
	want := "[lxc monitor] " + d.LXCPath + " " + name
	pids := monitorPids(want)
	for deadline := time.Now().Add(limit); len(pids) > 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var left []string
		for _, pid := range pids {
			if cmdlineIs(pid, want) {
				left = append(left, pid)
			}
		}
		pids = left
	}
}

// monitorPids returns the processes whose command line (NULs as spaces) is exactly title.
func monitorPids(title string) []string {
	return procsWhere(func(cmdline []byte) bool { return titleOf(cmdline) == title })
}

// cmdlineIs reports whether process pid runs with the command line title (a pid reused by
// another process does not match).
func cmdlineIs(pid, title string) bool {
	b, err := os.ReadFile("/proc/" + pid + "/cmdline")
	return err == nil && titleOf(b) == title
}

// resendEvery is how often a clean shutdown repeats the halt signal. An init that has not
// installed its handlers yet (systemd early in boot) ignores it, and nothing queues it.
const resendEvery = time.Second

// shutdown sends the halt signal until the container stops, ctx ends or timeout passes
// (negative: no limit).
func shutdown(ctx context.Context, c *golxc.Container, timeout time.Duration) error {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		// go-lxc's Shutdown sends the signal, then waits up to the given whole seconds.
		if err := c.Shutdown(resendEvery); err == nil || !c.Running() {
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return fmt.Errorf("did not shut down within %s (use --force to kill it): %w", timeout, api.ErrConflict)
		}
	}
}

// State reads a running container's state from /proc and its cgroup files (state.go), or,
// when that cannot tell, asks the container's monitor through liblxc.
func (d *Driver) State(ctx context.Context, name string) (instance.RunState, error) {
	if rs, ok := d.fastState(name); ok {
		return rs, nil
	}
	// A container without a config file was never started (or was renamed): it is stopped.
	// Asking liblxc anyway would load whatever config is there, and loading one creates the
	// directory of its log file, so a state query must not reach liblxc without one.
	if _, err := os.Lstat(filepath.Join(d.LXCPath, name, "config")); errors.Is(err, os.ErrNotExist) {
		return instance.RunState{}, nil
	}
	c, err := d.open(name)
	if err != nil {
		return instance.RunState{}, err
	}
	defer c.Release()
	st := c.State()
	if st != golxc.RUNNING && st != golxc.FROZEN && st != golxc.FREEZING && st != golxc.THAWED {
		return instance.RunState{}, nil
	}
	// FREEZING counts as frozen: nothing in it runs, and it needs a thaw all the same.
	rs := instance.RunState{Running: true, Frozen: st == golxc.FROZEN || st == golxc.FREEZING, Pid: c.InitPid()}
	// Another init than the one Start recorded (a reboot inside, an older lited's start):
	// record it, so the next State reads files again.
	if _, same := d.recordedInit(name); !same && rs.Pid > 0 {
		if err := d.recordInit(name, rs.Pid); err != nil {
			d.warn("record init and cgroups", "instance", name, "err", err)
		}
		d.detachRootfs(name)
	}
	if m, err := c.MemoryUsage(); err == nil {
		rs.MemUsage = int64(m)
	}
	if v := c.CgroupItem("memory.max_usage_in_bytes"); len(v) > 0 {
		rs.MemPeak, _ = strconv.ParseInt(v[0], 10, 64)
	}
	if t, err := c.CPUTime(); err == nil {
		rs.CPUNs = t.Nanoseconds()
	}
	if v := c.CgroupItem("pids.current"); len(v) > 0 {
		rs.Processes, _ = strconv.ParseInt(v[0], 10, 64)
	}
	return rs, nil
}

// attachMu lets one liblxc attach run at a time in this process. An attach forks lited without
// exec: its helper and the attached process hold a copy of every descriptor lited has until
// they exec, the sync sockets of any other attach in flight among them, and each waits on its
// own socket for lited. Were two in flight when lited dies, each would keep the other's socket
// open and both would wait for good, with the clients' connections to lited (lite exec hung
// after a kill, TestKillDuringParallelExecs). Alone, a helper lited leaves reads EOF and exits.
var attachMu sync.Mutex

// Exec attaches a process to the running container. liblxc forks it as a child of this
// process (CLONE_PARENT), so Wait reaps it here; the fork runs only C code before exec.
func (d *Driver) Exec(ctx context.Context, name string, spec instance.ExecSpec) (instance.Process, error) {
	c, err := d.open(name)
	if err != nil {
		return nil, err
	}
	defer c.Release()
	if !c.Running() {
		return nil, fmt.Errorf("instance %q is not running: %w", name, api.ErrNotRunning)
	}
	opts := golxc.DefaultAttachOptions
	opts.ClearEnv = true
	opts.Env = spec.Env
	opts.Cwd = spec.Cwd
	opts.UID, opts.GID = int(spec.UID), int(spec.GID)
	opts.StdinFd, opts.StdoutFd, opts.StderrFd = spec.Stdin.Fd(), spec.Stdout.Fd(), spec.Stderr.Fd()
	attachMu.Lock()
	pid, err := c.RunCommandNoWait(spec.Command, opts)
	attachMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("exec in %q: %w", name, err)
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil, err
	}
	return &process{p: p}, nil
}

type process struct{ p *os.Process }

func (p *process) Pid() int                   { return p.p.Pid }
func (p *process) Signal(sig os.Signal) error { return p.p.Signal(sig) }

func (p *process) Wait() (int, error) {
	st, err := p.p.Wait()
	if err != nil {
		return -1, err
	}
	ws := st.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// OpenPty opens a pty pair on the container's devpts instance (through liblxc's devpts fd),
// so ttyname() works inside and the pty counts against the container, not the host.
func (d *Driver) OpenPty(ctx context.Context, name string) (*os.File, *os.File, error) {
	c, err := d.open(name)
	if err != nil {
		return nil, nil, err
	}
	defer c.Release()
	devpts, err := c.DevptsFd()
	if err != nil {
		return nil, nil, fmt.Errorf("devpts of %q: %w", name, err)
	}
	defer devpts.Close()
	mfd, err := unix.Openat(int(devpts.Fd()), "ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open ptmx of %q: %w", name, err)
	}
	ptmx := os.NewFile(uintptr(mfd), "ptmx")
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		ptmx.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	// TIOCGPTPEER opens the slave through the master, immune to path games inside /dev/pts.
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		ptmx.Close()
		return nil, nil, fmt.Errorf("open pty peer: %w", errno)
	}
	return ptmx, os.NewFile(sfd, "pts"), nil
}

// SetCgroup writes one cgroup setting of a running container through its monitor.
func (d *Driver) SetCgroup(ctx context.Context, name, key, value string) error {
	c, err := d.open(name)
	if err != nil {
		return err
	}
	defer c.Release()
	if !c.Running() {
		return fmt.Errorf("instance %q is not running: %w", name, api.ErrNotRunning)
	}
	item, ok := strings.CutPrefix(key, "lxc.cgroup2.")
	if !ok {
		if item, ok = strings.CutPrefix(key, "lxc.cgroup."); !ok {
			return fmt.Errorf("%q is not an lxc cgroup key: %w", key, api.ErrInvalid)
		}
	}
	if err := c.SetCgroupItem(item, value); err != nil {
		return fmt.Errorf("set %s=%s on %q: %w", item, value, name, err)
	}
	return nil
}
