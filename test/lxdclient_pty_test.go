package test

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptySession is a command on a real pseudo-terminal, its screen collected as it comes.
type ptySession struct {
	t        *testing.T
	cmd      *exec.Cmd
	ptmx     *os.File
	out      *ptyOutput
	finished chan struct{}
	waitErr  error
	write    func(string)
}

func startPTY(t *testing.T, cmd *exec.Cmd, size *pty.Winsize) *ptySession {
	t.Helper()
	ptmx, err := pty.StartWithSize(cmd, size)
	if err != nil {
		t.Fatalf("start %s on a pty: %v", cmd.Path, err)
	}
	s := &ptySession{t: t, cmd: cmd, ptmx: ptmx, out: &ptyOutput{done: make(chan struct{})}, finished: make(chan struct{})}
	go func() {
		defer close(s.out.done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			s.out.mu.Lock()
			s.out.buf.Write(buf[:n])
			s.out.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		s.waitErr = cmd.Wait()
		close(s.finished)
	}()
	s.write = func(in string) {
		if _, err := ptmx.Write([]byte(in)); err != nil {
			t.Errorf("type %q: %v", in, err)
		}
	}
	t.Cleanup(func() {
		select {
		case <-s.finished:
		default:
			_ = cmd.Process.Kill()
			<-s.finished
		}
		ptmx.Close()
	})
	return s
}

// waitFor polls the screen for re, typing resend every 2s while it is not there.
func (s *ptySession) waitFor(what string, re *regexp.Regexp, resend string) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	next := time.Now()
	for !re.MatchString(s.out.Text()) {
		select {
		case <-s.finished:
			s.t.Fatalf("exited (%v) before %s; terminal output:\n%s", s.waitErr, what, s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: not seen within 60s; terminal output:\n%s", what, s.out.String())
		}
		if resend != "" && time.Now().After(next) {
			s.write(resend)
			next = time.Now().Add(2 * time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exitCode waits for the command to end and returns its exit code.
func (s *ptySession) exitCode() int {
	s.t.Helper()
	select {
	case <-s.finished:
	case <-time.After(60 * time.Second):
		s.t.Fatalf("did not end; terminal output:\n%s", s.out.String())
	}
	var ee *exec.ExitError
	if errors.As(s.waitErr, &ee) {
		return ee.ExitCode()
	}
	if s.waitErr != nil {
		return -1
	}
	return 0
}

// TestLXDClientInteractive runs LXD's `lxc exec` with a terminal and `lxc console` against
// lited, on a real pty.
func TestLXDClientInteractive(t *testing.T) {
	d := sharedWeb1(t)
	c := newLXCClient(t, d)

	cmd := exec.Command("lxc", "exec", "web1", "--", "bash")
	cmd.Env = append(c.env(), "TERM=xterm")
	sh := startPTY(t, cmd, &pty.Winsize{Rows: 30, Cols: 100})
	sh.waitFor("a root prompt", regexp.MustCompile(`# $`), "")
	sh.waitFor("stty size 30 100", regexp.MustCompile(`(?m)^30 100$`), "stty size\r")
	sh.write("tty; echo $((6*7)); exit 5\r")
	if code := sh.exitCode(); code != 5 {
		t.Errorf("lxc exec web1 -- bash: exit %d after `exit 5`, want 5", code)
	}
	if !regexp.MustCompile(`(?m)^/dev/pts/\d+$`).MatchString(sh.out.Text()) || !regexp.MustCompile(`(?m)^42$`).MatchString(sh.out.Text()) {
		t.Errorf("the shell had no terminal, or did not run the line:\n%s", sh.out.Text())
	}

	// lxc console: getty answers Enter with a login prompt; ctrl+a q detaches.
	cmd = exec.Command("lxc", "console", "web1")
	cmd.Env = append(c.env(), "TERM=xterm")
	con := startPTY(t, cmd, &pty.Winsize{Rows: 30, Cols: 100})
	con.waitFor("a login prompt", regexp.MustCompile(`web1 login:`), "\r")
	// One client at a time: a second attach is refused at once, it does not wait or hang.
	if _, stderr, code := d.Lite("console", "web1"); code == 0 || !strings.Contains(stderr, "busy") {
		t.Errorf("a second console client: exit %d, stderr %q; want a refusal naming the busy console", code, stderr)
	}
	// lxc looks at the first byte of each read only: ctrl+a and q must come in two reads.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		con.write("\x01")
		time.Sleep(300 * time.Millisecond)
		con.write("q")
		select {
		case <-con.finished:
			deadline = time.Now()
		case <-time.After(2 * time.Second):
		}
	}
	if code := con.exitCode(); code != 0 {
		t.Errorf("lxc console web1: exit %d after ctrl+a q", code)
	}
	if out := c.must(t, "console", "web1", "--show-log"); !regexp.MustCompile(`web1 login:`).MatchString(out) {
		t.Errorf("lxc console --show-log has no login prompt:\n%s", out)
	}
}
