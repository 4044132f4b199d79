// Package test holds lite's end-to-end tests: they build lited and lite, start a real daemon on a
// temporary LITE_DIR and drive real containers with the real binaries (see README.md).
package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"lite/client"
	"lite/test/roottest"
)

// buildCache is where lited keeps built image tarballs between runs (keyed by recipe), so
// only the first run on a machine pays for debootstrap.
const buildCache = "/var/cache/lite/images"

// dirPrefix names every LITE_DIR this suite makes, to recognise them in mountinfo and ps.
const dirPrefix = "lite-e2e-"

// Paths set up once by TestMain.
var (
	repoRoot string // the module root, where ./cmd/... is built from
	workDir  string // binaries and daemon logs of this run
	litedBin string
	liteBin  string
)

// suiteDirs are the LITE_DIRs made by this run; the final check looks for anything left of them.
var (
	suiteMu   sync.Mutex
	suiteDirs []string
)

func TestMain(m *testing.M) { os.Exit(runSuite(m)) }

// runSuite needs root (roottest: without it the run fails in CI and under make e2e, which sets
// LITE_REQUIRE_ROOT=1, and is skipped with a message elsewhere), builds the binaries once, runs
// the tests, tears the shared daemon down and fails the run if anything is left behind.
func runSuite(m *testing.M) int {
	if code, ok := roottest.Main("the end-to-end tests start lited and real containers"); !ok {
		return code
	}
	if err := buildBinaries(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	stopRemotes, err := offlineRemotes()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: offline remotes:", err)
		return 1
	}
	defer stopRemotes()
	code := m.Run()

	if shared != nil {
		var problems []string
		shared.teardown(func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf(format, args...))
		})
		if len(problems) > 0 || code != 0 {
			shared.printLog(os.Stderr, 0)
		}
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "FAIL: shared daemon teardown:", p)
			code = 1
		}
	}
	if left := leftovers(); len(left) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: the run left things behind:")
		for _, l := range left {
			fmt.Fprintln(os.Stderr, "  "+l)
		}
		code = 1
	} else {
		fmt.Fprintln(os.Stderr, "leftover check: no mounts, lxc monitors, lited processes or state dirs left")
	}
	if err := os.RemoveAll(workDir); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: remove", workDir+":", err)
		code = 1
	}
	return code
}

// buildBinaries builds lited and lite from the module root into workDir.
func buildBinaries() error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	repoRoot = filepath.Dir(wd) // go test runs in the package directory, test/
	if _, err := os.Stat(filepath.Join(repoRoot, "go.mod")); err != nil {
		return fmt.Errorf("cannot find the module root above %s: %w", wd, err)
	}
	workDir, err = os.MkdirTemp("", "lite-e2e-bin-")
	if err != nil {
		return err
	}
	// The tag the Makefile gives every build: one SQLite, the system's, shared with libdqlite.
	cmd := exec.Command(goTool(), "build", "-tags=libsqlite3", "-o", workDir+"/", "./cmd/lited", "./cmd/lite")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/lited ./cmd/lite: %v\n%s", err, out)
	}
	litedBin = filepath.Join(workDir, "lited")
	liteBin = filepath.Join(workDir, "lite")
	return nil
}

// goTool finds the go command that runs this test.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := runtime.GOROOT(); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "/usr/local/go/bin/go"
}

// Daemon is one lited on its own LITE_DIR.
type Daemon struct {
	Dir     string // LITE_DIR
	Socket  string
	LogPath string   // lited's stdout and stderr, kept outside LITE_DIR
	Net     string   // the daemon's own default network (bridge) name
	NFT     string   // the daemon's own nftables table
	Env     []string // extra environment of lited (opt-ins, LITE_STORAGE=dir)
	// Prefix runs lited, and the harness's own ip, nft and lxc-stop for its cleanup, under a
	// command that execs them (nsenter into a cluster member's namespaces, see
	// test/clusternet); empty: on the host.
	Prefix []string
	// MountinfoPath is the mountinfo of the daemon's mount namespace ("": the test's own).
	MountinfoPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has been reaped
}

// startDaemon starts a lited of the test's own, with env added to its environment;
// t.Cleanup tears it down and removes its state.
func startDaemon(t *testing.T, env ...string) *Daemon {
	t.Helper()
	d, err := newDaemon()
	if err != nil {
		t.Fatal(err)
	}
	d.Env = env
	d.run(t)
	return d
}

// run starts a daemon made by newDaemon (and adjusted by the caller: Prefix, Net...);
// t.Cleanup tears it down and removes its state.
func (d *Daemon) run(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		d.teardown(t.Errorf)
		if t.Failed() {
			d.printLog(os.Stderr, 0)
		}
	})
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
}

// command is exec.Command of name under the daemon's Prefix.
func (d *Daemon) command(name string, args ...string) *exec.Cmd {
	argv := append(append(append([]string{}, d.Prefix...), name), args...)
	return exec.Command(argv[0], argv[1:]...)
}

// newDaemon makes a LITE_DIR under /tmp. Not t.TempDir: its parents are 0700 and would stop
// the container's root (an unprivileged host uid) from reaching its rootfs.
func newDaemon() (*Daemon, error) {
	dir, err := os.MkdirTemp("/tmp", dirPrefix)
	if err != nil {
		return nil, err
	}
	suiteMu.Lock()
	suiteDirs = append(suiteDirs, dir)
	suiteMu.Unlock()
	log := filepath.Join(workDir, filepath.Base(dir)+".log")
	net, table := newNetNames()
	return &Daemon{Dir: dir, Socket: filepath.Join(dir, "unix.socket"), LogPath: log, Net: net, NFT: table}, nil
}

// start runs lited and waits until `lite info` answers, or lited exits, or a deadline passes.
func (d *Daemon) start() error {
	logf, err := os.OpenFile(d.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // The child has its own copy.
	fmt.Fprintf(logf, "=== test harness: starting lited at %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := d.command(litedBin)
	cmd.Env = append(os.Environ(), "LITE_DIR="+d.Dir, "LITE_BUILD_CACHE="+buildCache)
	// Its own bridge and table, and no NAT: test containers only reach the host and each other.
	cmd.Env = append(cmd.Env, "LITE_DEFAULT_NETWORK="+d.Net, "LITE_DEFAULT_NAT=false", "LITE_NFT_TABLE="+d.NFT)
	cmd.Env = append(cmd.Env, d.Env...)
	// A file, not a pipe: liblxc's monitors may inherit it, and must not keep Wait blocked.
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start lited: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	d.mu.Lock()
	d.cmd, d.exited = cmd, exited
	d.mu.Unlock()

	deadline := time.Now().Add(90 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("lited exited before it was ready (%v); log:\n%s", cmd.ProcessState, d.readLog(0))
		default:
		}
		_, stderr, code := d.liteTimeout(10*time.Second, nil, "info")
		if code == 0 {
			return nil
		}
		last = stderr
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("lited did not answer `lite info` within 90s (last error: %s); log:\n%s", last, d.readLog(0))
}

// Running reports whether the lited started by the harness is still alive.
func (d *Daemon) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return false
	}
	select {
	case <-d.exited:
		return false
	default:
		return true
	}
}

// Pid is the daemon's process id (0 when not running).
func (d *Daemon) Pid() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return 0
	}
	return d.cmd.Process.Pid
}

// Kill crashes the daemon with SIGKILL and reaps it.
func (d *Daemon) Kill(t *testing.T) {
	t.Helper()
	if err := d.signal(syscall.SIGKILL, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

// Restart stops the daemon (cleanly, if it still runs) and starts it again on the same dir.
func (d *Daemon) Restart(t *testing.T) {
	t.Helper()
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
}

// stop asks lited to exit with SIGTERM and kills it if it has not after a while.
func (d *Daemon) stop() error {
	if err := d.signal(syscall.SIGTERM, 30*time.Second); err == nil {
		return nil
	}
	// Hung: SIGQUIT makes the Go runtime write every goroutine's stack to the log, for the
	// failure report.
	if err := d.signal(syscall.SIGQUIT, 5*time.Second); err == nil {
		return nil
	}
	return d.signal(syscall.SIGKILL, 30*time.Second)
}

// signal sends sig to lited and waits up to timeout for it to exit.
func (d *Daemon) signal(sig syscall.Signal, timeout time.Duration) error {
	d.mu.Lock()
	cmd, exited := d.cmd, d.exited
	d.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-exited:
		return nil
	default:
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal lited: %w", err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("lited (pid %d) did not exit within %s of %v", cmd.Process.Pid, timeout, sig)
	}
}

// Lite runs the real lite binary against this daemon (LITE_DIR set) with empty stdin and
// returns its stdout, stderr and exit code. A lite that cannot run or hangs past the default
// timeout gives code -1, with the reason in stderr.
func (d *Daemon) Lite(args ...string) (stdout, stderr string, code int) {
	return d.liteTimeout(liteTimeout, nil, args...)
}

// LiteIn is Lite with stdin.
func (d *Daemon) LiteIn(stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	return d.liteTimeout(liteTimeout, stdin, args...)
}

// liteTimeout bounds one lite command. Launch may build the base image on a fresh machine
// (debootstrap, a few minutes), so the default is generous; it guards against hangs only.
const liteTimeout = 15 * time.Minute

func (d *Daemon) liteTimeout(timeout time.Duration, stdin io.Reader, args ...string) (string, string, int) {
	return runLite([]string{"LITE_DIR=" + d.Dir}, timeout, stdin, args...)
}

// runLite runs lite with extra environment entries.
func runLite(env []string, timeout time.Duration, stdin io.Reader, args ...string) (string, string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, liteBin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.String(), errb.String() + fmt.Sprintf("\n[harness: lite %s timed out after %s]", strings.Join(args, " "), timeout), -1
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0
	case errors.As(err, &exitErr) && exitErr.Exited():
		return out.String(), errb.String(), exitErr.ExitCode()
	}
	return out.String(), errb.String() + fmt.Sprintf("\n[harness: lite %s: %v]", strings.Join(args, " "), err), -1
}

// Client connects the Go client package to the daemon's socket.
func (d *Daemon) Client(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.Connect(d.Socket)
	if err != nil {
		t.Fatalf("client.Connect(%s): %v", d.Socket, err)
	}
	return c
}

// teardown deletes every instance through lite, stops the daemon, then force-cleans whatever
// remains (reporting each thing it had to clean, since the product should not have left it)
// and removes LITE_DIR.
func (d *Daemon) teardown(report func(format string, args ...any)) {
	if d.Running() {
		names, err := d.instanceNames()
		if err != nil {
			report("list instances for cleanup: %v", err)
		}
		for _, name := range names {
			if _, stderr, code := d.Lite("delete", "--force", name); code != 0 {
				report("cleanup: lite delete --force %s: exit %d: %s", name, code, strings.TrimSpace(stderr))
			}
		}
	}
	if err := d.stop(); err != nil {
		report("cleanup: stop lited: %v", err)
	}
	// Networks outlive lited as containers do: the default one is removed here; any other
	// left is reported.
	for _, msg := range d.cleanNetworks() {
		report("cleanup: %s", msg)
	}
	for _, msg := range forceClean(d) {
		report("cleanup: %s", msg)
	}
}

// instanceNames lists the daemon's instances with `lite list`.
func (d *Daemon) instanceNames() ([]string, error) {
	stdout, stderr, code := d.Lite("list", "-c", "n", "--format", "csv")
	if code != 0 {
		return nil, fmt.Errorf("lite list: exit %d: %s", code, strings.TrimSpace(stderr))
	}
	return strings.Fields(stdout), nil
}

// forceClean kills every container still running under d.Dir, unmounts what is mounted below
// it and removes it; lxc-stop and umount run under d.Prefix (the container's socket and the
// mounts are in the daemon's namespaces). It returns a line for every leftover it dealt with.
func forceClean(d *Daemon) []string {
	dir, command := d.Dir, d.command
	var msgs []string
	lxcPath := filepath.Join(dir, "containers")
	entries, _ := os.ReadDir(lxcPath)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if len(monitorsOf(lxcPath, e.Name())) == 0 {
			continue
		}
		msgs = append(msgs, fmt.Sprintf("container %s still running after teardown; killed with lxc-stop -k", e.Name()))
		if out, err := command("lxc-stop", "-k", "-P", lxcPath, "-n", e.Name()).CombinedOutput(); err != nil {
			msgs = append(msgs, fmt.Sprintf("lxc-stop -k %s: %v: %s", e.Name(), err, bytes.TrimSpace(out)))
		}
	}
	// Deepest first, so nested mounts go before their parents.
	mounts := allMountsUnderIn(d.MountinfoPath, dir)
	for i := len(mounts) - 1; i >= 0; i-- {
		msgs = append(msgs, "mount left behind: "+mounts[i])
		if len(d.Prefix) > 0 {
			if out, err := command("umount", "-l", mounts[i]).CombinedOutput(); err != nil {
				msgs = append(msgs, fmt.Sprintf("umount -l %s: %v: %s", mounts[i], err, bytes.TrimSpace(out)))
			}
			continue
		}
		if err := syscall.Unmount(mounts[i], 0); err != nil {
			if err := syscall.Unmount(mounts[i], syscall.MNT_DETACH); err != nil {
				msgs = append(msgs, fmt.Sprintf("unmount %s: %v", mounts[i], err))
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		msgs = append(msgs, fmt.Sprintf("remove %s: %v", dir, err))
	}
	return msgs
}

// readLog returns lited's log from byte offset from.
func (d *Daemon) readLog(from int64) string {
	f, err := os.Open(d.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return fmt.Sprintf("(log: %v)", err)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// logSize is the current length of the log, to print only what a test added.
func (d *Daemon) logSize() int64 {
	st, err := os.Stat(d.LogPath)
	if err != nil {
		return 0
	}
	return st.Size()
}

func (d *Daemon) printLog(w io.Writer, from int64) {
	fmt.Fprintf(w, "----- lited log (%s, LITE_DIR=%s) -----\n%s----- end of lited log -----\n", d.LogPath, d.Dir, d.readLog(from))
}

// The shared daemon serves every test that does not need a daemon of its own, so the image
// is imported once; TestMain tears it down after the last test.
var (
	shared     *Daemon
	sharedOnce sync.Once
	sharedErr  error
)

// sharedDaemon returns the shared daemon, starting it on first use. When the test fails, the
// part of the daemon log written during it is printed.
func sharedDaemon(t *testing.T) *Daemon {
	t.Helper()
	sharedOnce.Do(func() {
		d, err := newDaemon()
		if err != nil {
			sharedErr = err
			return
		}
		shared = d
		sharedErr = d.start()
	})
	if sharedErr != nil {
		t.Fatalf("shared daemon: %v", sharedErr)
	}
	from := shared.logSize()
	t.Cleanup(func() {
		if t.Failed() {
			shared.printLog(os.Stderr, from)
		}
	})
	return shared
}
