package lxc

import (
	"strings"
	"testing"
)

func TestStartUnder(t *testing.T) {
	const path = "/var/lib/lite/containers"
	for _, tc := range []struct {
		cmdline string
		name    string
		ok      bool
	}{
		{"lxc-start\x00-P\x00/var/lib/lite/containers\x00-n\x00web1\x00-d\x00", "web1", true},
		{"/usr/bin/lxc-start\x00-P\x00/var/lib/lite/containers\x00-n\x00web1\x00-d\x00", "web1", true},
		{"lxc-start\x00-n\x00web1\x00-P\x00/var/lib/lite/containers\x00", "web1", true},
		{"lxc-start\x00-P\x00/tmp/other/containers\x00-n\x00web1\x00-d\x00", "web1", false},
		{"[lxc monitor] /var/lib/lite/containers web1", "", false},
		{"lxc-stop\x00-P\x00/var/lib/lite/containers\x00-n\x00web1\x00", "", false},
		{"lxc-start\x00-P\x00/var/lib/lite/containers\x00", "", false},
		{"", "", false},
	} {
		name, ok := startUnder([]byte(tc.cmdline), path)
		if ok != tc.ok || (ok && name != tc.name) {
			t.Errorf("startUnder(%q) = %q, %v; want %q, %v", strings.ReplaceAll(tc.cmdline, "\x00", " "), name, ok, tc.name, tc.ok)
		}
	}
}
