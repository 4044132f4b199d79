package lxc

import (
	"strings"
	"testing"
)

func TestIsStartUnder(t *testing.T) {
	const path = "/var/lib/lite/containers"
	for _, tc := range []struct {
		cmdline string
		want    bool
	}{
		{"lxc-start\x00-P\x00/var/lib/lite/containers\x00-n\x00web1\x00-d\x00", true},
		{"/usr/bin/lxc-start\x00-P\x00/var/lib/lite/containers\x00-n\x00web1\x00-d\x00", true},
		{"lxc-start\x00-P\x00/tmp/other/containers\x00-n\x00web1\x00-d\x00", false},
		{"[lxc monitor] /var/lib/lite/containers web1", false},
		{"lxc-stop\x00-P\x00/var/lib/lite/containers\x00-n\x00web1\x00", false},
		{"lxc-start\x00-n\x00web1\x00", false},
		{"", false},
	} {
		if got := isStartUnder([]byte(tc.cmdline), path); got != tc.want {
			t.Errorf("isStartUnder(%q) = %v, want %v", strings.ReplaceAll(tc.cmdline, "\x00", " "), got, tc.want)
		}
	}
}
