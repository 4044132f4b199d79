package network

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"lite/lxd-lite/atomicfile"
)

// dnsmasq is one supervised dnsmasq: started by this lited, or adopted from one that ran
// before a restart (found through its pid file and command line).
type dnsmasq struct {
	name  string // network
	files files
	log   *slog.Logger

	mu      sync.Mutex
	pid     int
	exited  chan struct{} // closed when a child of ours exits; nil for an adopted one
	stopped bool
	quit    chan struct{}
	done    chan struct{}
}

// args is dnsmasq's command line; the conf path in it is how lited recognises its own.
func (d *dnsmasq) args() []string {
	return []string{dnsmasqBin, "--keep-in-foreground", "--conf-file=" + d.files.conf()}
}

// isOurs reports whether pid runs dnsmasq with this network's conf file.
func (d *dnsmasq) isOurs(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	want := "--conf-file=" + d.files.conf()
	for _, a := range bytes.Split(b, []byte{0}) {
		if string(a) == want {
			return true
		}
	}
	return false
}

// pidFromFile returns the pid in dnsmasq's pid file when that process is this network's dnsmasq.
func (d *dnsmasq) pidFromFile() int {
	b, err := os.ReadFile(d.files.pid())
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || !d.isOurs(pid) {
		return 0
	}
	return pid
}

// startOrAdopt adopts a running dnsmasq of this network, or starts one.
func (d *dnsmasq) startOrAdopt() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if pid := d.pidFromFile(); pid > 0 {
		d.pid, d.exited = pid, nil
		if d.boundToLiveBridge() {
			d.log.Info("adopted running dnsmasq", "network", d.name, "pid", pid)
			return nil
		}
		d.log.Warn("dnsmasq serves a bridge that is gone (it was re-created); restarting it", "network", d.name, "pid", pid)
		if err := d.killLocked(); err != nil {
			return err
		}
	}
	return d.spawnLocked()
}

// linkIndex returns the interface index of the link name (0 when there is none).
func linkIndex(name string) int {
	if i, err := net.InterfaceByName(name); err == nil {
		return i.Index
	}
	return 0
}

// boundToLiveBridge reports whether the bridge dnsmasq started on is the one there now
// (same interface index). Without a record (an older lited started it) it cannot tell,
// and says no: a restart costs a fraction of a second, a dead DHCP server every container.
func (d *dnsmasq) boundToLiveBridge() bool {
	b, err := os.ReadFile(d.files.ifindex())
	if err != nil {
		return false
	}
	idx, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && idx > 0 && idx == linkIndex(d.name)
}

func (d *dnsmasq) spawnLocked() error {
	logf, err := os.OpenFile(d.files.log(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("dnsmasq log: %w", err)
	}
	defer logf.Close()
	a := d.args()
	cmd := exec.Command(a[0], a[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session: dnsmasq outlives lited (a crash, an upgrade) like the containers do.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dnsmasq for %s: %w", d.name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	// dnsmasq checks its config and binds its sockets before it runs on; an early exit is
	// a config or bind error, reported here rather than by the supervisor.
	select {
	case <-exited:
		return fmt.Errorf("dnsmasq for network %s exited at start: %s", d.name, lastLines(d.files.log(), 3))
	case <-time.After(150 * time.Millisecond):
	}
	d.pid, d.exited = cmd.Process.Pid, exited
	if err := atomicfile.WriteFile(d.files.ifindex(), []byte(strconv.Itoa(linkIndex(d.name))+"\n"), 0o644); err != nil {
		d.log.Warn("record the bridge dnsmasq serves", "network", d.name, "err", err)
	}
	return nil
}

// alive reports whether the supervised dnsmasq still runs.
func (d *dnsmasq) alive() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.aliveLocked()
}

func (d *dnsmasq) aliveLocked() bool {
	if d.pid == 0 {
		return false
	}
	if d.exited != nil {
		select {
		case <-d.exited:
			return false
		default:
			return true
		}
	}
	return d.isOurs(d.pid)
}

// supervise restarts dnsmasq when it dies, until stop is called.
func (d *dnsmasq) supervise() {
	d.mu.Lock()
	d.stopped = false
	d.quit, d.done = make(chan struct{}), make(chan struct{})
	quit, done := d.quit, d.done
	d.mu.Unlock()
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			d.mu.Lock()
			exited := d.exited
			d.mu.Unlock()
			select {
			case <-quit:
				return
			case <-t.C:
			case <-exited: // nil for an adopted one: never ready
			}
			d.mu.Lock()
			if !d.stopped && !d.aliveLocked() {
				d.log.Warn("dnsmasq died; restarting it", "network", d.name, "pid", d.pid)
				if err := d.spawnLocked(); err != nil {
					d.log.Error("restart dnsmasq", "network", d.name, "err", err)
				}
			}
			d.mu.Unlock()
		}
	}()
}

// reload makes dnsmasq re-read its dhcp-hosts file.
func (d *dnsmasq) reload() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.aliveLocked() {
		return nil // the supervisor restarts it, and a fresh dnsmasq reads the file anyway
	}
	if err := syscall.Kill(d.pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("reload dnsmasq of %s: %w", d.name, err)
	}
	return nil
}

// stop ends supervision and dnsmasq itself (SIGTERM, then SIGKILL).
func (d *dnsmasq) stop() error {
	d.mu.Lock()
	d.stopped = true
	quit, done := d.quit, d.done
	d.mu.Unlock()
	if quit != nil {
		close(quit)
		<-done
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.killLocked()
}

// restart stops dnsmasq and starts it again, with fn run in between (editing the leases).
func (d *dnsmasq) restart(fn func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.killLocked(); err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	return d.spawnLocked()
}

// detach ends supervision only: dnsmasq keeps serving while lited is down.
func (d *dnsmasq) detach() {
	d.mu.Lock()
	quit, done := d.quit, d.done
	d.quit = nil
	d.mu.Unlock()
	if quit != nil {
		close(quit)
		<-done
	}
}

func (d *dnsmasq) killLocked() error {
	if d.pid == 0 {
		d.pid, d.exited = d.pidFromFile(), nil // one left from before a restart of lited
	}
	if !d.aliveLocked() {
		d.pid = 0
		return nil
	}
	pid := d.pid
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop dnsmasq of %s: %w", d.name, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for d.aliveLocked() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if d.aliveLocked() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		for i := 0; i < 100 && d.aliveLocked(); i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	d.pid = 0
	return nil
}

func lastLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}
