package test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestNoDaemon: with no lited on the socket, lite fails with a hint on how to start it.
func TestNoDaemon(t *testing.T) {
	dir, err := os.MkdirTemp("", "lite-e2e-nodaemon-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	missing := filepath.Join(dir, "nonexistent.sock")
	stale := filepath.Join(dir, "stale")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	// A regular file where the socket should be: the leftover of a daemon that died badly.
	if err := os.WriteFile(filepath.Join(stale, "unix.socket"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		what string
		env  []string
		args []string
	}{
		{"--socket " + missing, []string{"LITE_DIR=" + dir}, []string{"--socket", missing, "list"}},
		{"LITE_DIR without a daemon", []string{"LITE_DIR=" + filepath.Join(dir, "nodir")}, []string{"list"}},
		{"LITE_DIR with a stale socket file", []string{"LITE_DIR=" + stale}, []string{"info"}},
		{"exec", []string{"LITE_DIR=" + dir}, []string{"--socket", missing, "exec", "web1", "--", "true"}},
	} {
		stdout, stderr, code := runLite(c.env, time.Minute, nil, c.args...)
		what := "lite " + strings.Join(c.args, " ") + " (" + c.what + ")"
		oneLineError(t, what, stderr, code, `lited`)
		if !regexp.MustCompile(`(?i)start`).MatchString(stderr) {
			t.Errorf("%s: the error does not say how to start lited: %q", what, stderr)
		}
		if stdout != "" {
			t.Errorf("%s: stdout %q, want nothing", what, stdout)
		}
	}
}
