package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// consoleCap is lxc.console.size as lite sets it (lxc driver's ConsoleLogSize).
const consoleCap = 1 << 20

// TestConsoleLogCapped floods /dev/console from inside a container with several times the
// cap: console.log never grows past the cap, the overflow rotates into console.log.1 (also
// capped), and --show-log still answers.
func TestConsoleLogCapped(t *testing.T) {
	d := sharedDaemon(t)
	const name = "robust-con"
	deleteOnCleanup(t, d, name)
	start := time.Now()
	mustLite(t, d, "launch", "debian/12", name)
	t.Logf("launched in %s", time.Since(start))
	const flood = 6 * consoleCap
	mustLite(t, d, "exec", name, "--", "sh", "-c",
		fmt.Sprintf("yes 'lite console flood 0123456789abcdefghijklmnopqrstuvwxyz' | head -c %d > /dev/console", flood))
	t.Logf("flooded in %s", time.Since(start))
	dir := filepath.Join(d.Dir, "containers", name)
	logs := []string{filepath.Join(dir, "console.log"), filepath.Join(dir, "console.log.1")}
	// liblxc's monitor copies the pty asynchronously: wait for the rotated file to appear.
	eventually(t, 60*time.Second, "console.log to rotate", func() (bool, string) {
		_, err := os.Stat(logs[1])
		return err == nil, fmt.Sprint(err)
	})
	for _, p := range logs {
		requireMode(t, p, 0o600) // what the guest printed is for root only
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > consoleCap {
			t.Errorf("%s is %d bytes, over the %d byte cap", p, st.Size(), consoleCap)
		}
	}
	out := mustLite(t, d, "console", "--show-log", name)
	if len(out) > consoleCap {
		t.Errorf("console --show-log returned %d bytes, over the cap", len(out))
	}
	if !strings.Contains(out, "lite console flood") {
		t.Errorf("console --show-log lost the output: %q", out)
	}
}
