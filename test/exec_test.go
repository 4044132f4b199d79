package test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestExec drives `lite exec` without a terminal: streams, exit codes, stdin, bulk output,
// environment, working directory, and a stopped instance.
func TestExec(t *testing.T) {
	d := sharedWeb1(t)

	t.Run("stdout and stderr apart", func(t *testing.T) {
		stdout, stderr, code := d.Lite("exec", "web1", "--", "sh", "-c", "echo out; echo err >&2")
		if code != 0 || stdout != "out\n" || stderr != "err\n" {
			t.Errorf("exit %d, stdout %q, stderr %q; want 0, \"out\\n\", \"err\\n\"", code, stdout, stderr)
		}
	})

	t.Run("exit code", func(t *testing.T) {
		for _, want := range []int{7, 0, 1, 255} {
			_, stderr, code := d.Lite("exec", "web1", "--", "sh", "-c", fmt.Sprintf("exit %d", want))
			if code != want {
				t.Errorf("sh -c 'exit %d': lite exited %d (stderr %q)", want, code, stderr)
			}
		}
	})

	t.Run("stdin", func(t *testing.T) {
		stdout, stderr, code := d.LiteIn(strings.NewReader("hello\n"), "exec", "web1", "--", "cat")
		if code != 0 || stdout != "hello\n" {
			t.Errorf("echo hello | lite exec web1 -- cat: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		// Bulk input, in and out again: nothing lost or reordered.
		in := bytes.Repeat([]byte("0123456789abcdef"), 256*1024) // 4 MiB
		stdout, stderr, code = d.LiteIn(bytes.NewReader(in), "exec", "web1", "--", "sha256sum")
		want := fmt.Sprintf("%x  -\n", sha256.Sum256(in))
		if code != 0 || stdout != want {
			t.Errorf("4 MiB | sha256sum: exit %d, stdout %q (want %q), stderr %q", code, stdout, want, stderr)
		}
	})

	t.Run("large output", func(t *testing.T) {
		stdout, stderr, code := d.Lite("exec", "web1", "--", "sh", "-c", "head -c 5000000 /dev/zero | base64")
		want := gnuBase64(make([]byte, 5000000))
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		if len(stdout) != len(want) || stdout != want {
			t.Errorf("got %d bytes of output, want %d (identical to base64 of 5000000 zero bytes)", len(stdout), len(want))
		}
	})

	t.Run("environment", func(t *testing.T) {
		stdout, stderr, code := d.Lite("exec", "--env", "FOO=bar", "web1", "--", "sh", "-c", `echo "$FOO|$HOME|$PATH"`)
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		parts := strings.SplitN(strings.TrimSpace(stdout), "|", 3)
		if len(parts) != 3 || parts[0] != "bar" || parts[1] != "/root" || !strings.Contains(parts[2], "/usr/bin") {
			t.Errorf("FOO|HOME|PATH = %q, want bar|/root|...usr/bin...", stdout)
		}
	})

	t.Run("cwd", func(t *testing.T) {
		if out := mustLite(t, d, "exec", "--cwd", "/tmp", "web1", "--", "pwd"); out != "/tmp\n" {
			t.Errorf("--cwd /tmp: pwd says %q", out)
		}
		if out := mustLite(t, d, "exec", "web1", "--", "pwd"); out != "/root\n" {
			t.Errorf("default cwd: pwd says %q, want /root (root's home)", out)
		}
	})

	t.Run("command not found", func(t *testing.T) {
		_, stderr, code := d.Lite("exec", "web1", "--", "/no/such/command")
		if code != 127 || stderr != "Error: Command not found\n" {
			t.Errorf("exec of a missing command: exit %d (stderr %q), want 127 and LXD's \"Error: Command not found\"", code, stderr)
		}
	})

	t.Run("killed by a signal", func(t *testing.T) {
		_, stderr, code := d.Lite("exec", "web1", "--", "sh", "-c", "kill -9 $$")
		if code != 128+9 {
			t.Errorf("sh -c 'kill -9 $$': lite exited %d (stderr %q), want 137", code, stderr)
		}
	})

	t.Run("background child keeps stdout open", func(t *testing.T) {
		// The shell exits at once; its child still holds stdout. lite must end with the shell.
		stdout, stderr, code := d.liteTimeout(2*time.Minute, nil, "exec", "web1", "--", "sh", "-c", "sleep 900 & echo $!")
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		pid := strings.TrimSpace(stdout)
		if !regexp.MustCompile(`^\d+$`).MatchString(pid) {
			t.Fatalf("stdout %q, want the background pid", stdout)
		}
		mustLite(t, d, "exec", "web1", "--", "kill", pid)
	})

	t.Run("stdin not read", func(t *testing.T) {
		in := bytes.NewReader(make([]byte, 16<<20))
		_, stderr, code := d.liteTimeout(2*time.Minute, in, "exec", "web1", "--", "true")
		if code != 0 {
			t.Errorf("16 MiB | lite exec web1 -- true: exit %d, stderr %q", code, stderr)
		}
	})

	t.Run("parallel sessions", func(t *testing.T) {
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				want := strings.Repeat(fmt.Sprintf("session %d\n", i), 20000)
				script := fmt.Sprintf("i=0; while [ $i -lt 20000 ]; do echo 'session %d'; i=$((i+1)); done; exit %d", i, i)
				stdout, stderr, code := d.Lite("exec", "web1", "--", "bash", "-c", script)
				if code != i || stdout != want {
					errs <- fmt.Sprintf("session %d: exit %d, %d bytes of stdout (want %d), stderr %q", i, code, len(stdout), len(want), stderr)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	})

	t.Run("signal forwarded", func(t *testing.T) {
		cmd := exec.Command(liteBin, "exec", "web1", "--", "sh", "-c",
			`trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.1; done`)
		cmd.Env = append(os.Environ(), "LITE_DIR="+d.Dir)
		out := &ptyOutput{done: make(chan struct{})}
		cmd.Stdout = &lockedWriter{o: out}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var waitErr error
		finished := make(chan struct{})
		go func() {
			waitErr = cmd.Wait()
			close(finished)
		}()
		t.Cleanup(func() {
			select {
			case <-finished:
			default:
				_ = cmd.Process.Kill()
				<-finished
			}
		})
		eventually(t, time.Minute, "the command to start", func() (bool, string) {
			return strings.Contains(out.String(), "ready\n"), out.String()
		})
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-finished:
		case <-time.After(time.Minute):
			t.Fatalf("lite did not end after SIGTERM; output %q", out.String())
		}
		var exitErr *exec.ExitError
		if !errors.As(waitErr, &exitErr) || exitErr.ExitCode() != 42 || !strings.Contains(out.String(), "got-term\n") {
			t.Errorf("after SIGTERM to lite: %v, output %q; want the command's trap to run (got-term, exit 42)", waitErr, out.String())
		}
	})

	t.Run("stopped instance", func(t *testing.T) {
		deleteOnCleanup(t, d, "stopped1")
		mustLite(t, d, "init", "debian/12", "stopped1")
		requireStatus(t, d, "stopped1", "STOPPED")
		stdout, stderr, code := d.Lite("exec", "stopped1", "--", "true")
		oneLineError(t, "lite exec stopped1 -- true", stderr, code, `not running|stopped`)
		if stdout != "" {
			t.Errorf("stdout %q, want nothing", stdout)
		}
		requireStatus(t, d, "stopped1", "STOPPED")
	})
}

// gnuBase64 is what coreutils' base64 prints: lines of 76 characters, each ending in a newline.
func gnuBase64(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	if enc != "" {
		b.WriteString(enc + "\n")
	}
	return b.String()
}

// ptyOutput collects what a program writes to its terminal.
type ptyOutput struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
}

func (o *ptyOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// lockedWriter appends to a ptyOutput from os/exec's copying goroutine.
type lockedWriter struct{ o *ptyOutput }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.o.mu.Lock()
	defer w.o.mu.Unlock()
	return w.o.buf.Write(p)
}

// ansiEscape matches the control sequences bash writes around its prompt (bracketed paste...).
var ansiEscape = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>])`)

// Text is the output as plain lines: no escape sequences, no carriage returns.
func (o *ptyOutput) Text() string {
	return strings.ReplaceAll(ansiEscape.ReplaceAllString(o.String(), ""), "\r", "")
}

// TestExecInteractive runs `lite exec web1 -- bash` on a real pty: the shell gets a terminal of
// the container, the window size and its changes reach it, and the exit code comes back.
func TestExecInteractive(t *testing.T) {
	d := sharedWeb1(t)
	cmd := exec.Command(liteBin, "exec", "web1", "--", "bash")
	cmd.Env = append(os.Environ(), "LITE_DIR="+d.Dir, "TERM=xterm")
	sh := startPTY(t, cmd, &pty.Winsize{Rows: 33, Cols: 101})
	sh.waitFor("a root prompt", regexp.MustCompile(`# $`), "")
	// A window size change and typed input travel on different streams: type again until seen.
	sh.waitFor("stty size 33 101", regexp.MustCompile(`(?m)^33 101$`), "stty size\r")
	if err := pty.Setsize(sh.ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatalf("resize pty: %v", err)
	}
	sh.waitFor("stty size 40 120 after the resize", regexp.MustCompile(`(?m)^40 120$`), "stty size\r")
	sh.write("tty; echo $((6*7)); exit 3\r")
	if code := sh.exitCode(); code != 3 {
		t.Errorf("lite exec web1 -- bash ended with exit %d, want 3", code)
	}
	select {
	case <-sh.out.done:
	case <-time.After(10 * time.Second):
	}
	screen := sh.out.Text()
	if !regexp.MustCompile(`(?m)^/dev/pts/\d+$`).MatchString(screen) {
		t.Errorf("tty did not print a /dev/pts path; terminal output:\n%s", screen)
	}
	if !regexp.MustCompile(`(?m)^42$`).MatchString(screen) {
		t.Errorf("echo $((6*7)) did not print 42; terminal output:\n%s", screen)
	}
}
