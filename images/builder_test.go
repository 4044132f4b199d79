package images

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeDebootstrap puts a debootstrap script first in PATH. The script gets
// debootstrap's arguments; $rootfs is the target directory.
func fakeDebootstrap(t *testing.T, body string) {
	t.Helper()
	dir := t.TempDir()
	// The target is the second to last argument; refuse anything but an
	// absolute path so a mistake can never mount or write in the cwd.
	script := "#!/bin/sh\neval rootfs=\\${$(($# - 1))}\ncase \"$rootfs\" in /*) ;; *) echo \"bad rootfs $rootfs\" >&2; exit 2;; esac\n" +
		body + "\n"
	if err := os.WriteFile(filepath.Join(dir, "debootstrap"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
}

// progressLog collects Progress lines safely.
type progressLog struct {
	mu    sync.Mutex
	lines []string
}

func (p *progressLog) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, s)
}

func (p *progressLog) has(s string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if l == s {
			return true
		}
	}
	return false
}

func TestBuildCacheHit(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no debootstrap: a cache miss would fail
	b := &Builder{CacheDir: t.TempDir()}
	r, _ := LookupRecipe("debian/12")
	cached := b.CachePath(r)
	if err := os.WriteFile(cached, []byte("image"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := b.Build(context.Background(), r, t.TempDir())
	if err != nil || got != cached {
		t.Fatalf("Build = %s, %v", got, err)
	}
}

func TestBuildDebootstrapFails(t *testing.T) {
	fakeDebootstrap(t, `echo "I: Retrieving libc6"; echo "E: Couldn't find these debs: nosuch" >&2; exit 1`)
	var log progressLog
	b := &Builder{CacheDir: t.TempDir(), Progress: log.add}
	r, _ := LookupRecipe("debian/12")
	_, err := b.Build(context.Background(), r, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "Couldn't find these debs") {
		t.Fatalf("error %v does not quote debootstrap", err)
	}
	if !log.has("debootstrap: Retrieving libc6") {
		t.Fatalf("progress %q lacks debootstrap's line", log.lines)
	}
	if _, err := os.Stat(b.CachePath(r)); err == nil {
		t.Fatal("cache written after a failure")
	}
	if tmps, _ := filepath.Glob(filepath.Join(b.CacheDir, ".tmp-*")); len(tmps) != 0 {
		t.Fatalf("temporary files left: %v", tmps)
	}
	// The lock was released: a second build runs (and fails) instead of
	// waiting.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.Build(ctx, r, t.TempDir()); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second build: %v", err)
	}
}

func TestBuildUnmountsAfterDebootstrap(t *testing.T) {
	requireRoot(t)
	// Like a killed debootstrap, leave /proc and a tmpfs mounted.
	fakeDebootstrap(t, `mkdir -p "$rootfs/proc" "$rootfs/tmp/x" && touch "$rootfs/marker" && `+
		`mount -t proc proc "$rootfs/proc" && mount -t tmpfs none "$rootfs/tmp/x" && exit 1`)
	work := t.TempDir()
	b := &Builder{CacheDir: t.TempDir()}
	r, _ := LookupRecipe("debian/12")
	if _, err := b.Build(context.Background(), r, work); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(filepath.Join(work, "rootfs/marker")); err != nil {
		t.Fatal("the fake debootstrap did not run in workDir/rootfs")
	}
	data, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(data), work) {
		t.Fatalf("mounts left under %s", work)
	}
}

func TestBuildCancelKillsDebootstrap(t *testing.T) {
	requireRoot(t)
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	fakeDebootstrap(t, `sleep 300 & echo $! > `+pidFile+`; echo "I: Retrieving libc6"; wait`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := &Builder{CacheDir: t.TempDir(), Progress: func(msg string) {
		if msg == "debootstrap: Retrieving libc6" {
			cancel()
		}
	}}
	r, _ := LookupRecipe("debian/12")
	done := make(chan error, 1)
	go func() {
		_, err := b.Build(ctx, r, t.TempDir())
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Build did not return after cancel")
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	deadline := time.Now().Add(10 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			unix.Kill(pid, unix.SIGKILL)
			t.Fatalf("debootstrap's child %d survived the cancel", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processAlive reports whether pid runs (a zombie counts as dead).
func processAlive(pid int) bool {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func TestLockFileWaits(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := lockFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, p); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock: %v", err)
	}
	unlock()
	unlock2, err := lockFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	unlock2()
}

func TestUnescapeMountPath(t *testing.T) {
	for in, want := range map[string]string{`/a\040b`: "/a b", `/plain`: "/plain", `/t\011x\134`: "/t\tx\\", `/end\04`: `/end\04`} {
		if got := unescapeMountPath(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
