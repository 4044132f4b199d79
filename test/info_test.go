package test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestInfo checks `lite info NAME` for a running instance and `lite info` for the server.
func TestInfo(t *testing.T) {
	d := sharedWeb1(t)

	t.Run("instance", func(t *testing.T) {
		out := mustLite(t, d, "info", "web1")
		field := func(re string) string {
			t.Helper()
			m := regexp.MustCompile(`(?m)` + re).FindStringSubmatch(out)
			if m == nil {
				t.Errorf("lite info web1: no match for %q in:\n%s", re, out)
				return ""
			}
			return m[1]
		}
		if v := field(`^Name:\s*(\S+)\s*$`); v != "" && v != "web1" {
			t.Errorf("Name: %q", v)
		}
		if v := field(`^Status:\s*(\S+)\s*$`); v != "" && v != "RUNNING" {
			t.Errorf("Status: %q, want RUNNING", v)
		}
		if v := field(`^PID:\s*(\d+)\s*$`); v != "" {
			if pid, _ := strconv.Atoi(v); pid != initPid(t, d, "web1") || !procAlive(pid) {
				t.Errorf("PID %s is not web1's live init", v)
			}
		}
		if v := field(`^\s+Processes:\s*(\d+)\s*$`); v != "" {
			if n, _ := strconv.Atoi(v); n < 2 {
				t.Errorf("Processes: %d; a booted systemd container runs several", n)
			}
		}
		field(`^\s+Memory usage:\s*()$`)
		if v := field(`^\s+Memory \(current\):\s*(.+?)\s*$`); v != "" && !regexp.MustCompile(`^[1-9][0-9.]*\s*[KMG]i?B$`).MatchString(v) {
			t.Errorf("Memory (current): %q, want a non-zero size such as 40.12MiB", v)
		}
		if v := field(`^Image:\s*(.+?)\s*$`); v != "" && !strings.Contains(strings.ToLower(v), "debian") {
			t.Errorf("Image: %q, want it to name the Debian image", v)
		}
	})

	t.Run("stopped instance", func(t *testing.T) {
		deleteOnCleanup(t, d, "info2")
		mustLite(t, d, "init", "debian/12", "info2")
		out := mustLite(t, d, "info", "info2")
		if !regexp.MustCompile(`(?m)^Status:\s*STOPPED\s*$`).MatchString(out) {
			t.Errorf("lite info info2: no Status: STOPPED:\n%s", out)
		}
		if regexp.MustCompile(`(?m)^PID:`).MatchString(out) {
			t.Errorf("lite info info2 shows a PID for a stopped instance:\n%s", out)
		}
	})

	t.Run("server", func(t *testing.T) {
		out := mustLite(t, d, "info")
		m := regexp.MustCompile(`(?m)^\s*storage:\s*(\S+)\s*$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("lite info: no storage driver:\n%s", out)
		}
		if m[1] != "overlay" && m[1] != "dir" {
			t.Errorf("lite info: storage %q, want overlay or dir", m[1])
		}
		if !regexp.MustCompile(`(?m)^\s*server_pid:\s*` + strconv.Itoa(d.Pid()) + `\s*$`).MatchString(out) {
			t.Errorf("lite info: server_pid is not the lited the harness started (pid %d):\n%s", d.Pid(), out)
		}
		// The driver named is the one in use: overlay leaves web1 an upper dir, dir a rootfs copy.
		sub := map[string]string{"overlay": "upper", "dir": "rootfs"}[m[1]]
		if _, err := os.Stat(filepath.Join(d.Dir, "containers", "web1", sub)); err != nil {
			t.Errorf("storage %s, but web1 has no %s dir: %v", m[1], sub, err)
		}
	})
}
