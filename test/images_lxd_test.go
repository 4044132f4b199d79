package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lxdEnv is a throwaway LXD 5.0 daemon (Debian's lxd package) with its own LXD_DIR.
type lxdEnv struct {
	dir  string
	conf string // LXD_CONF of the lxc client, so $HOME is left alone
	cmd  *exec.Cmd
}

// startLXD installs Debian's lxd if needed and starts it by hand (there is no systemd here).
// The test fails loudly when LXD cannot be installed or started.
func startLXD(t *testing.T) *lxdEnv {
	t.Helper()
	if _, err := exec.LookPath("lxd"); err != nil {
		// scripts/install-deps.sh (make test) installs it; this covers a bare `go test`.
		out, err := exec.Command("apt-get", "install", "-y", "-qq", "--no-install-recommends", "lxd", "lxd-client").CombinedOutput()
		if err != nil {
			t.Fatalf("LXD interop needs Debian's lxd package and it cannot be installed: %v\n%s", err, out)
		}
	}
	dir, err := os.MkdirTemp("/tmp", dirPrefix+"lxd-")
	if err != nil {
		t.Fatal(err)
	}
	e := &lxdEnv{dir: dir, conf: filepath.Join(dir, "client")}
	logf, err := os.Create(filepath.Join(dir, "lxd.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	e.cmd = exec.Command("lxd", "--group", "root", "--logfile", filepath.Join(dir, "lxd.log"))
	e.cmd.Env = append(os.Environ(), "LXD_DIR="+dir)
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("start lxd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_, _ = e.run("lxd", "shutdown", "--timeout", "30")
		select {
		case <-exited:
		case <-time.After(40 * time.Second):
			_ = e.cmd.Process.Kill()
			<-exited
		}
		if m := mountsUnder(dir); len(m) > 0 {
			t.Errorf("LXD left mounts: %v", m)
			return
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	if out, err := e.run("lxd", "waitready", "--timeout", "60"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "lxd.log"))
		t.Fatalf("LXD did not start: %v %s\n%s", err, out, log)
	}
	return e
}

// run runs an LXD command against this daemon.
func (e *lxdEnv) run(name string, args ...string) (string, error) {
	return e.runIn(e.dir, name, args...)
}

// runIn runs an LXD command against the daemon whose socket is in dir (LXD's, or lited's:
// lited serves LXD's API on $LITE_DIR/unix.socket, where lxc looks for $LXD_DIR/unix.socket).
func (e *lxdEnv) runIn(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LXD_DIR="+dir, "LXD_CONF="+e.conf)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e *lxdEnv) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.run("lxc", args...)
	if err != nil {
		t.Fatalf("lxc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestImagesLXDInterop: an image lite exported imports into LXD 5.0 with the same
// fingerprint, and an image LXD published and exported imports into lite and boots.
func TestImagesLXDInterop(t *testing.T) {
	d := sharedWeb1(t)
	deleteImageOnCleanup(t, d, "img-from-lxd")
	deleteOnCleanup(t, d, "imglxd")
	base := exportBase(t, d)
	fp := strings.TrimSuffix(filepath.Base(base), ".tar.gz")
	lxd := startLXD(t)

	out := lxd.must(t, "image", "import", base, "--alias", "fromlite")
	if !strings.Contains(out, fp) {
		t.Fatalf("lxc image import of lite's export: %q, want fingerprint %s", out, fp)
	}
	lxd.must(t, "storage", "create", "default", "dir")
	lxd.must(t, "profile", "device", "add", "default", "root", "disk", "path=/", "pool=default")
	lxd.must(t, "init", "fromlite", "c1")
	lxd.must(t, "publish", "c1", "--alias", "lxdpub")
	outDir := t.TempDir()
	lxd.must(t, "image", "export", "lxdpub", outDir+"/")
	files, _ := filepath.Glob(filepath.Join(outDir, "*"))
	if len(files) != 1 {
		t.Fatalf("lxc image export wrote %v", files)
	}
	lxdFP := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(files[0]), ".tar.gz"), ".tar.xz")
	// Upload it to lited with LXD's own client, as `lxc image import` does it.
	out, err := lxd.runIn(d.Dir, "lxc", "image", "import", files[0], "--alias", "img-from-lxd")
	if err != nil || !strings.Contains(out, lxdFP) {
		t.Fatalf("lxc image import into lited: %v\n%s", err, out)
	}
	if info := mustLite(t, d, "image", "info", "img-from-lxd"); !strings.Contains(info, lxdFP) {
		t.Errorf("lite image info img-from-lxd does not show LXD's fingerprint %s:\n%s", lxdFP, info)
	}
	back := t.TempDir()
	if out, err := lxd.runIn(d.Dir, "lxc", "image", "export", "img-from-lxd", back+"/"); err != nil {
		t.Fatalf("lxc image export from lited: %v\n%s", err, out)
	}
	if got := fileSHA(t, filepath.Join(back, lxdFP+".tar.gz")); got != lxdFP {
		t.Errorf("lxc image export from lited gave sha256 %s, want %s", got, lxdFP)
	}
	mustLite(t, d, "launch", "img-from-lxd", "imglxd")
	waitRunning(t, d, "imglxd")
	if out := mustLite(t, d, "exec", "imglxd", "--", "hostname"); out != "imglxd\n" {
		t.Errorf("hostname of the container from LXD's image: %q", out)
	}
}
