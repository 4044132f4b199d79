package thread

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lite/lxd-lite/idmap"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (setfsuid, chown, mount namespaces)")
	}
}

// With nothing to become, fn runs on the caller's thread; its error comes back.
func TestRunInline(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid, got := unix.Gettid(), 0
	want := errors.New("fn failed")
	err := Run(Options{As: &idmap.Map{}}, func() error { got = unix.Gettid(); return want })
	if got != tid || err != want {
		t.Fatalf("ran on thread %d (caller %d), err %v", got, tid, err)
	}
}

// As the container's root, new files get its host ids; chown to other ids of the container
// works only with RaiseCaps; the caller's ids do not change.
func TestRunAsContainerRoot(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	m := &idmap.Map{UID: 100000, GID: 200000, Size: idmap.Size}
	inside, chowned := filepath.Join(dir, "inside"), filepath.Join(dir, "chowned")
	err := Run(Options{As: m, RaiseCaps: true}, func() error {
		if err := os.WriteFile(inside, nil, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(chowned, nil, 0o644); err != nil {
			return err
		}
		return os.Chown(chowned, 100005, 200007)
	})
	if err != nil {
		t.Fatal(err)
	}
	after := filepath.Join(dir, "after")
	if err := os.WriteFile(after, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path     string
		uid, gid uint32
	}{{inside, 100000, 200000}, {chowned, 100005, 200007}, {after, 0, 0}} {
		var st unix.Stat_t
		if err := unix.Stat(c.path, &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != c.uid || st.Gid != c.gid {
			t.Errorf("%s owned by %d:%d, want %d:%d", filepath.Base(c.path), st.Uid, st.Gid, c.uid, c.gid)
		}
	}
}

// Without RaiseCaps the thread has no more file access than the container's root: chown to
// another id is refused.
func TestRunAsContainerRootKeepsCapsDropped(t *testing.T) {
	requireRoot(t)
	f := filepath.Join(t.TempDir(), "f")
	err := Run(Options{As: &idmap.Map{UID: 100000, GID: 200000, Size: idmap.Size}}, func() error {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			return err
		}
		return os.Chown(f, 100005, 200007)
	})
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("chown without raised capabilities: %v, want EPERM", err)
	}
}

// With a pid, fn sees that process's mount namespace: a tmpfs mounted only there.
func TestRunInMountNamespace(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	mnt := filepath.Join(dir, "m")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(mnt, "only-in-the-namespace")
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs lite-thread-test "$1" && touch "$2" && exec sleep 60`, "sh", mnt, marker)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	})
	viaProc := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "root", marker)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(viaProc); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the namespace's tmpfs did not appear in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the marker is visible on the host (%v): the test proves nothing", err)
	}
	err := Run(Options{Pid: cmd.Process.Pid}, func() error {
		_, err := os.Stat(marker)
		return err
	})
	if err != nil {
		t.Fatalf("inside the namespace: %v", err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Run the caller sees the namespace's mount (%v)", err)
	}
}
