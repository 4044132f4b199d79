package test

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestConsole attaches to web1's console, gets a login prompt from its getty and detaches
// with ctrl+a q; --show-log shows the same prompt.
func TestConsole(t *testing.T) {
	d := sharedWeb1(t)
	// A real pipe: the child reads it directly, so it can exit on ctrl+a q while the pipe stays
	// open (an io.Pipe would keep exec's copier, and Wait, blocked).
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	type result struct {
		stdout, stderr string
		code           int
	}
	done := make(chan result, 1)
	go func() {
		o, e, c := d.LiteIn(pr, "console", "web1")
		done <- result{o, e, c}
	}()
	defer pw.Close()
	prompts := func() (int, string) {
		out, _, _ := d.Lite("console", "--show-log", "web1")
		return strings.Count(out, "web1 login:"), out
	}
	// Each Enter makes getty print a new prompt, seen in the log. Two new prompts: the first
	// has long reached this client by the time the second is logged.
	before, _ := prompts()
	for want := before + 1; want <= before+2; want++ {
		eventually(t, 30*time.Second, "a new login prompt in the console log", func() (bool, string) {
			if n, _ := prompts(); n >= want {
				return true, ""
			}
			_, _ = pw.Write([]byte("\r"))
			n, out := prompts()
			return n >= want, out
		})
	}
	if _, err := pw.Write([]byte{0x01, 'q'}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.code != 0 || !strings.Contains(r.stdout, "login:") {
			t.Errorf("lite console: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("lite console did not detach on ctrl+a q")
	}
	if _, stderr, code := d.Lite("console", "nosuch"); code == 0 || !strings.Contains(stderr, "not found") {
		t.Errorf("console of a missing instance: exit %d %q", code, stderr)
	}
}
