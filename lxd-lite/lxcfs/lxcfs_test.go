package lxcfs

import (
	"io"
	"log/slog"
	"os"
	"testing"
)

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		"/var/lib/lxcfs":         "/var/lib/lxcfs",
		`/tmp/a\040b/lxcfs`:      "/tmp/a b/lxcfs",
		`/tmp/tab\011x`:          "/tmp/tab\tx",
		`/tmp/back\134slash`:     `/tmp/back\slash`,
		`/tmp/trailing\04`:       `/tmp/trailing\04`,
		`/tmp/not\999octal/path`: `/tmp/not\999octal/path`,
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMountedAndHealthy(t *testing.T) {
	dir := t.TempDir()
	if mounted(dir) || healthy(dir) {
		t.Errorf("a plain directory counts as an lxcfs mount")
	}
	// A directory that merely looks like lxcfs (proc/meminfo present) is not one.
	if err := os.MkdirAll(dir+"/proc", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/proc/meminfo", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if healthy(dir) {
		t.Error("a look-alike directory counts as a healthy lxcfs")
	}
}

// Release never touches an lxcfs lited did not start, nor its own while containers run.
func TestReleaseLeavesOthersAlone(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	no := func() bool { return false }
	var nilService *Service
	nilService.Release(no)
	dir := t.TempDir()
	(&Service{Dir: dir, own: false, log: log}).Release(no)
	(&Service{Dir: dir, own: true, log: log}).Release(func() bool { return true })
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("release removed %s: %v", dir, err)
	}
}
