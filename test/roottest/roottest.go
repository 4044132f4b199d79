// Package roottest gates the tests that need root (mounts, namespaces, chown, trusted xattrs)
// the same way everywhere: without root they fail loudly where root is required (CI, or
// LITE_REQUIRE_ROOT=1) and skip with a message saying why everywhere else, so `make unit`
// runs for an unprivileged developer as the Makefile promises.
package roottest

import (
	"fmt"
	"os"
	"testing"
)

// Enforced reports whether a missing root must fail the run: in CI (CI set, as every CI
// system sets it) or when LITE_REQUIRE_ROOT=1.
func Enforced() bool {
	return os.Getenv("CI") != "" || os.Getenv("LITE_REQUIRE_ROOT") == "1"
}

// geteuid is os.Geteuid; the package's own tests replace it.
var geteuid = os.Geteuid

// Missing returns nil when the process runs as root, else an error saying what needs it.
func Missing(why string) error {
	if uid := geteuid(); uid != 0 {
		return fmt.Errorf("needs root (%s) and runs as uid %d", why, uid)
	}
	return nil
}

// Require stops the test unless it runs as root: a failure when Enforced, a skip otherwise.
// why says what needs root ("overlay mounts", "a network namespace").
func Require(t testing.TB, why string) {
	t.Helper()
	err := Missing(why)
	if err == nil {
		return
	}
	if Enforced() {
		t.Fatalf("%v; root is required here (CI or LITE_REQUIRE_ROOT=1): run the tests as root", err)
		return
	}
	t.Skipf("SKIP: %v; run as root to include it (CI or LITE_REQUIRE_ROOT=1 turn this into a failure)", err)
}

// Main is Require for a TestMain whose whole package needs root: it returns ok when the tests
// may run; otherwise it has printed why and code is the exit status (1 when Enforced, else 0
// with every test skipped).
func Main(why string) (code int, ok bool) {
	err := Missing(why)
	if err == nil {
		return 0, true
	}
	if Enforced() {
		fmt.Fprintf(os.Stderr, "FAIL: %v; root is required here (CI or LITE_REQUIRE_ROOT=1): run the tests as root\n", err)
		return 1, false
	}
	fmt.Fprintf(os.Stderr, "SKIP: %v; run as root to include them (CI or LITE_REQUIRE_ROOT=1 turn this into a failure)\n", err)
	return 0, false
}
