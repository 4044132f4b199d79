package test

import (
	"slices"
	"strings"
	"testing"
)

// TestBadInput: every refused request gives one error line and a non-zero exit, and leaves no
// row, directory, lxc process or mount behind; a refused duplicate leaves the original alone.
func TestBadInput(t *testing.T) {
	d := sharedWeb1(t)
	long := "a" + strings.Repeat("b", 63) // 64 characters; 63 is the limit (a hostname label)
	badNames := []string{"-bad", "1abc", "a_b", long, "a.b", "a b"}
	deleteOnCleanup(t, d, append(slices.Clone(badNames), "x1", "nosuch")...)
	webPid := initPid(t, d, "web1")
	before := snapshotHost(t, d)
	rowsBefore := listCSV(t, d, "ns")

	type tc struct {
		args []string
		want string // case-insensitive regexp the error must match
	}
	var cases []tc
	for _, name := range badNames {
		cases = append(cases,
			tc{[]string{"launch", "debian/12", "--", name}, `name`},
			tc{[]string{"init", "debian/12", "--", name}, `name`})
	}
	cases = append(cases,
		tc{[]string{"launch", "nosuch/image", "x1"}, `nosuch/image`},
		tc{[]string{"init", "nosuch/image", "x1"}, `nosuch/image`},
		tc{[]string{"launch", "debian/12", "web1"}, `already exists`},
		tc{[]string{"init", "debian/12", "web1"}, `already exists`},
		tc{[]string{"start", "nosuch"}, `not found`},
		tc{[]string{"stop", "nosuch"}, `not found`},
		tc{[]string{"stop", "--force", "nosuch"}, `not found`},
		tc{[]string{"restart", "nosuch"}, `not found`},
		tc{[]string{"delete", "nosuch"}, `not found`},
		tc{[]string{"delete", "--force", "nosuch"}, `not found`},
		tc{[]string{"exec", "nosuch", "--", "true"}, `not found`},
		tc{[]string{"info", "nosuch"}, `not found`},
	)
	for _, c := range cases {
		what := "lite " + strings.Join(c.args, " ")
		_, stderr, code := d.Lite(c.args...)
		t.Logf("%s -> exit %d: %s", what, code, strings.TrimSpace(stderr))
		oneLineError(t, what, stderr, code, c.want)
	}

	// Nothing changed: same rows, web1 untouched, nothing new on the host.
	if rows := listCSV(t, d, "ns"); !slices.EqualFunc(rows, rowsBefore, slices.Equal) {
		t.Errorf("lite list changed:\nbefore %q\nafter  %q", rowsBefore, rows)
	}
	for _, name := range append(badNames, "x1", "nosuch") {
		if st := status(t, d, name); st != "" {
			t.Errorf("lite list shows %q (%s) after a refused request", name, st)
		}
	}
	requireStatus(t, d, "web1", "RUNNING")
	if pid := initPid(t, d, "web1"); pid != webPid || !procAlive(pid) {
		t.Errorf("web1's init changed from pid %d to %d after a refused duplicate create", webPid, pid)
	}
	if out := mustLite(t, d, "exec", "web1", "--", "cat", "/etc/hostname"); out != "web1\n" {
		t.Errorf("web1's /etc/hostname is %q after a refused duplicate create", out)
	}
	if after := snapshotHost(t, d); !after.equal(before) {
		t.Errorf("the host changed:\nbefore: %s\nafter:  %s", before, after)
	}
}
