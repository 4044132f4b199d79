package roottest

import (
	"fmt"
	"strings"
	"testing"
)

// recTB records how Require stopped a test instead of stopping this one.
type recTB struct {
	testing.TB
	fatal, skip string
}

func (r *recTB) Helper()                           {}
func (r *recTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recTB) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }

func TestRequire(t *testing.T) {
	tests := []struct {
		uid              int
		ci, require      string
		wantFail, wantSk bool
	}{
		{uid: 0},
		{uid: 0, ci: "true"},
		{uid: 1000, wantSk: true},
		{uid: 1000, require: "0", wantSk: true},
		{uid: 1000, ci: "true", wantFail: true},
		{uid: 65534, require: "1", wantFail: true},
	}
	defer func(f func() int) { geteuid = f }(geteuid)
	for _, tt := range tests {
		geteuid = func() int { return tt.uid }
		t.Setenv("CI", tt.ci)
		t.Setenv("LITE_REQUIRE_ROOT", tt.require)
		r := &recTB{TB: t}
		Require(r, "overlay mounts")
		if (r.fatal != "") != tt.wantFail || (r.skip != "") != tt.wantSk {
			t.Errorf("%+v: fatal %q, skip %q", tt, r.fatal, r.skip)
		}
		for _, msg := range []string{r.fatal, r.skip} {
			if msg != "" && !strings.Contains(msg, "overlay mounts") {
				t.Errorf("%+v: %q does not say what needs root", tt, msg)
			}
		}
		code, ok := Main("lited")
		if ok != (tt.uid == 0) || (code != 0) != tt.wantFail {
			t.Errorf("%+v: Main = %d, %v", tt, code, ok)
		}
	}
}
