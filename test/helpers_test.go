package test

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// eventually calls check until it reports done or the deadline passes; then the test fails
// with what check said last. It is a poll with a deadline, never a timed assertion.
func eventually(t *testing.T, timeout time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, status := check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s; last seen: %s", what, timeout, status)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// mustLite runs lite and fails the test unless it exits 0; it returns stdout.
func mustLite(t *testing.T, d *Daemon, args ...string) string {
	t.Helper()
	stdout, stderr, code := d.Lite(args...)
	if code != 0 {
		t.Fatalf("lite %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

// listCSV runs `lite list -c COLS --format csv [filters]` and parses the rows.
func listCSV(t *testing.T, d *Daemon, cols string, filters ...string) [][]string {
	t.Helper()
	out := mustLite(t, d, append([]string{"list", "-c", cols, "--format", "csv"}, filters...)...)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("lite list -c %s --format csv: not CSV: %v\n%s", cols, err, out)
	}
	return rows
}

// status returns an instance's STATE column from `lite list` ("" when it is not listed).
func status(t *testing.T, d *Daemon, name string) string {
	t.Helper()
	for _, row := range listCSV(t, d, "ns") {
		if len(row) == 2 && row[0] == name {
			return row[1]
		}
	}
	return ""
}

// requireStatus fails unless `lite list` shows name with the given state.
func requireStatus(t *testing.T, d *Daemon, name, want string) {
	t.Helper()
	if got := status(t, d, name); got != want {
		t.Fatalf("lite list: %s is %q, want %q", name, got, want)
	}
}

// initPid returns the host pid of the instance's init from `lite list -c p`.
func initPid(t *testing.T, d *Daemon, name string) int {
	t.Helper()
	for _, row := range listCSV(t, d, "np") {
		if len(row) == 2 && row[0] == name {
			pid, err := strconv.Atoi(row[1])
			if err != nil || pid <= 1 {
				t.Fatalf("lite list -c np: %s has PID %q, want a host pid", name, row[1])
			}
			return pid
		}
	}
	t.Fatalf("lite list -c np: no row for %s", name)
	return 0
}

// waitRunning polls `systemctl is-system-running` inside the instance until it says
// "running". A container stuck in "degraded" fails with the list of failed units.
func waitRunning(t *testing.T, d *Daemon, name string) {
	t.Helper()
	const timeout = 3 * time.Minute
	deadline := time.Now().Add(timeout)
	var state, last string
	for time.Now().Before(deadline) {
		stdout, stderr, code := d.Lite("exec", name, "--", "systemctl", "is-system-running")
		state = strings.TrimSpace(stdout)
		if state == "running" {
			return
		}
		last = fmt.Sprintf("%q (exit %d, stderr %q)", state, code, strings.TrimSpace(stderr))
		time.Sleep(500 * time.Millisecond)
	}
	if state == "degraded" {
		failed, _, _ := d.Lite("exec", name, "--", "systemctl", "--failed", "--no-pager")
		t.Fatalf("%s: systemd is degraded after %s; failed units:\n%s", name, timeout, failed)
	}
	jobs, _, _ := d.Lite("exec", name, "--", "systemctl", "list-jobs", "--no-pager")
	t.Fatalf("%s: systemd did not reach running within %s; is-system-running said %s; jobs:\n%s", name, timeout, last, jobs)
}

// The shared running instance web1, launched once by the first test that needs it.
var (
	web1Once   sync.Once
	web1Launch struct {
		stdout, stderr string
		code           int
		ready          bool
	}
)

// sharedWeb1 returns the shared daemon with web1 launched and systemd running in it. The
// launch happens once; later calls see its outcome.
func sharedWeb1(t *testing.T) *Daemon {
	t.Helper()
	d := sharedDaemon(t)
	web1Once.Do(func() {
		r := &web1Launch
		start := time.Now()
		r.stdout, r.stderr, r.code = d.Lite("launch", "debian/12", "web1")
		if r.code == 0 {
			waitRunning(t, d, "web1")
			r.ready = true
			t.Logf("launched the shared web1 (systemd running) in %s", time.Since(start).Round(time.Millisecond))
		}
	})
	if web1Launch.code != 0 {
		t.Fatalf("lite launch debian/12 web1: exit %d\nstdout: %s\nstderr: %s", web1Launch.code, web1Launch.stdout, web1Launch.stderr)
	}
	if !web1Launch.ready {
		t.Fatal("web1 was launched but systemd never reached running in it (see the first test that used it)")
	}
	requireStatus(t, d, "web1", "RUNNING")
	return d
}

// deleteOnCleanup force-deletes the named instances when the test ends, if they still exist.
func deleteOnCleanup(t *testing.T, d *Daemon, names ...string) {
	t.Cleanup(func() {
		if !d.Running() {
			return
		}
		existing, err := d.instanceNames()
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		for _, name := range names {
			if !slices.Contains(existing, name) {
				continue
			}
			if _, stderr, code := d.Lite("delete", "--force", name); code != 0 {
				t.Errorf("cleanup: lite delete --force %s: exit %d: %s", name, code, stderr)
			}
		}
	})
}

// procAlive reports whether pid exists and is not a zombie.
func procAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may itself hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z' && s[i+2] != 'X'
}

// procUID returns the real uid of pid from /proc/PID/status.
func procUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read status of pid %d: %v", pid, err)
	}
	m := regexp.MustCompile(`(?m)^Uid:\s+(\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no Uid line in /proc/%d/status", pid)
	}
	uid, _ := strconv.Atoi(string(m[1]))
	return uid
}

// idmapBase returns the first host id of an instance's id map, as lited chose it (from root's
// subordinate ranges on this host: 100000 on one machine, 1000000 on another). Tests compare
// host ids to it, never to a fixed number.
func idmapBase(t *testing.T, d *Daemon, name string) int {
	t.Helper()
	out := strings.TrimSpace(mustLite(t, d, "config", "get", name, "volatile.idmap.base"))
	base, err := strconv.Atoi(out)
	if err != nil || base <= 0 {
		t.Fatalf("volatile.idmap.base of %s = %q: want a positive host id", name, out)
	}
	return base
}

// processes returns pid -> command line (NULs as spaces) of every process on the host.
func processes() map[int]string {
	procs := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		procs[pid] = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	}
	return procs
}

// monitorsOf returns the lxc monitors of one container ("" name: of every container) under
// lxcPath, as "pid cmdline".
func monitorsOf(lxcPath, name string) []string {
	prefix := "[lxc monitor] " + lxcPath + " "
	var found []string
	for pid, cmdline := range processes() {
		if !strings.HasPrefix(cmdline, prefix) {
			continue
		}
		if name == "" || strings.TrimSpace(strings.TrimPrefix(cmdline, prefix)) == name {
			found = append(found, fmt.Sprintf("%d %s", pid, cmdline))
		}
	}
	slices.Sort(found)
	return found
}

// mountsUnder returns the mount points at or below dir, in mountinfo order, less the private
// bind mount of a running lited's containers/ directory (storage.Pool.Open), which lited
// keeps while it runs and removes when it stops.
func mountsUnder(dir string) []string {
	var found []string
	for _, mp := range allMountsUnder(dir) {
		if !(filepath.Base(mp) == "containers" && strings.HasPrefix(filepath.Base(filepath.Dir(mp)), dirPrefix)) {
			found = append(found, mp)
		}
	}
	return found
}

// allMountsUnder returns every mount point at or below dir, in mountinfo order.
func allMountsUnder(dir string) []string { return allMountsUnderIn("", dir) }

// allMountsUnderIn is allMountsUnder in the mount namespace of the mountinfo file path
// ("": the test's own).
func allMountsUnderIn(path, dir string) []string {
	var found []string
	for _, line := range mountinfoOf(path) {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			found = append(found, mp)
		}
	}
	return found
}

// mountinfo returns the lines of /proc/self/mountinfo.
func mountinfo() []string { return mountinfoOf("") }

// mountinfoOf returns the lines of a mountinfo file ("": /proc/self/mountinfo).
func mountinfoOf(path string) []string {
	if path == "" {
		path = "/proc/self/mountinfo"
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	return lines
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space...).
func unescapeMount(s string) string {
	return regexp.MustCompile(`\\[0-7]{3}`).ReplaceAllStringFunc(s, func(esc string) string {
		n, _ := strconv.ParseUint(esc[1:], 8, 8)
		return string(rune(n))
	})
}

// leftovers lists what this run left on the host: mounts mentioning one of its LITE_DIRs,
// processes whose command line names one (lxc monitors included), processes running one of
// its binaries, and the dirs themselves.
func leftovers() []string {
	suiteMu.Lock()
	dirs := slices.Clone(suiteDirs)
	suiteMu.Unlock()
	var left []string
	for _, line := range mountinfo() {
		for _, dir := range dirs {
			if strings.Contains(unescapeMount(line), dir) {
				left = append(left, "mount: "+line)
				break
			}
		}
	}
	self := os.Getpid()
	for pid, cmdline := range processes() {
		if pid == self {
			continue
		}
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		exe = strings.TrimSuffix(exe, " (deleted)")
		if exe == litedBin || exe == liteBin {
			left = append(left, fmt.Sprintf("process %d running a suite binary: %s", pid, cmdline))
			continue
		}
		for _, dir := range dirs {
			if strings.Contains(cmdline, dir) {
				left = append(left, fmt.Sprintf("process %d: %s", pid, cmdline))
				break
			}
		}
	}
	for _, dir := range dirs {
		if _, err := os.Lstat(dir); err == nil {
			left = append(left, "state dir still exists: "+dir)
		}
	}
	left = append(left, networkLeftovers()...)
	slices.Sort(left)
	return left
}

// hostState is what an instance leaves on the host: its dirs, monitors and mounts.
type hostState struct {
	Dirs, Monitors, Mounts []string
}

func snapshotHost(t *testing.T, d *Daemon) hostState {
	t.Helper()
	lxcPath := filepath.Join(d.Dir, "containers")
	entries, err := os.ReadDir(lxcPath)
	if err != nil {
		t.Fatalf("read %s: %v", lxcPath, err)
	}
	var st hostState
	for _, e := range entries {
		st.Dirs = append(st.Dirs, e.Name())
	}
	st.Monitors = monitorsOf(lxcPath, "")
	st.Mounts = mountsUnder(d.Dir)
	return st
}

func (s hostState) String() string {
	return fmt.Sprintf("dirs %q, lxc monitors %q, mounts %q", s.Dirs, s.Monitors, s.Mounts)
}

func (s hostState) equal(o hostState) bool {
	return slices.Equal(s.Dirs, o.Dirs) && slices.Equal(s.Monitors, o.Monitors) && slices.Equal(s.Mounts, o.Mounts)
}

// oneLineError checks the stderr of a failed lite command: exactly one "Error: ..." line,
// matching want (a case-insensitive regexp).
func oneLineError(t *testing.T, what, stderr string, code int, want string) {
	t.Helper()
	if code == 0 {
		t.Errorf("%s: exit 0, want a failure", what)
		return
	}
	if code < 0 {
		t.Errorf("%s: did not run to completion: %s", what, stderr)
		return
	}
	msg := strings.TrimRight(stderr, "\n")
	if msg == "" || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "Error: ") {
		t.Errorf("%s: stderr is not one \"Error: ...\" line: %q", what, stderr)
	}
	if !regexp.MustCompile("(?i)" + want).MatchString(msg) {
		t.Errorf("%s: error %q does not match %q", what, msg, want)
	}
}

// strayMounts is mountsUnder(dir) less the lxcfs mount lited keeps at dir/lxcfs while it runs
// (it serves /proc views to containers and goes when lited stops with no container running).
func strayMounts(dir string) []string {
	var out []string
	for _, m := range mountsUnder(dir) {
		if m != dir+"/lxcfs" {
			out = append(out, m)
		}
	}
	return out
}

// litedForks lists the forks of lited that never exec'd (liblxc's attach forks lited to enter a
// container, then execs the command): processes running lited's binary whose parent is a lited
// too, or init once their lited is gone. The suite's daemons have the test (or a prefix
// command) for parent.
func litedForks() []string {
	bin, _ := filepath.EvalSymlinks(litedBin)
	exe := func(pid string) string {
		e, _ := os.Readlink(filepath.Join("/proc", pid, "exe"))
		return e
	}
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range dirs {
		pid := filepath.Base(p)
		if exe(pid) != bin {
			continue
		}
		status, _ := os.ReadFile(filepath.Join(p, "status"))
		var state, ppid string
		for _, l := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(l, "State:"); ok {
				state = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(l, "PPid:"); ok {
				ppid = strings.TrimSpace(v)
			}
		}
		if ppid == "1" || exe(ppid) == bin {
			out = append(out, fmt.Sprintf("%s (ppid %s, %s)", pid, ppid, state))
		}
	}
	return out
}

// killLitedForks ends the forks litedForks found (they would wait for good) so the run can go on.
func killLitedForks(forks []string) {
	for _, f := range forks {
		if pid, err := strconv.Atoi(strings.Fields(f)[0]); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// waitAfterKill waits for a lite command started before its lited was killed: with its daemon gone it
// must end. One still running after a minute hangs; the test fails, naming the forks of lited
// that may hold its connection, instead of waiting until the run's deadline.
func waitAfterKill(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
	}
	forks := litedForks()
	killLitedForks(forks)
	_ = cmd.Process.Kill()
	<-done
	t.Fatalf("lite %s still ran a minute after lited was killed; forks of lited left: %v", strings.Join(cmd.Args[1:], " "), forks)
	return nil
}
