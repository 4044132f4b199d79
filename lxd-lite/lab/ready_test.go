package lab

import (
	"os/exec"
	"strings"
	"testing"
)

// TestReadyLoop runs the loop with checks that fail twice, then pass: it must end with
// status 0 and have printed the reason once (not once per round).
func TestReadyLoop(t *testing.T) {
	dir := t.TempDir()
	checks := `c=$(cat ` + dir + `/count 2>/dev/null || echo 0); echo $((c+1)) > ` + dir + `/count
[ "$c" -ge 2 ] || { echo "not yet"; exit 1; }
`
	out, err := exec.Command("sh", "-c", readyLoop(checks)).CombinedOutput()
	if err != nil {
		t.Fatalf("ready loop: %v: %s", err, out)
	}
	if got := strings.Count(string(out), "not yet"); got != 1 {
		t.Errorf("reason printed %d times, want once: %q", got, out)
	}
}
