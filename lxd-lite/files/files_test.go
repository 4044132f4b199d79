package files

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"lite/client/api"
)

// newRoot makes a container root beside a host directory holding a secret, with symlinks
// inside the root that point at the host's paths.
func newRoot(t *testing.T) (*Root, string, string) {
	t.Helper()
	dir := t.TempDir()
	root, host := filepath.Join(dir, "root"), filepath.Join(dir, "host")
	for _, d := range []string{root + "/etc", root + "/tmp", host} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(host, "secret"), []byte("HOST"), 0o600))
	must(os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("c1\n"), 0o644))
	must(os.Symlink("/", filepath.Join(root, "esc")))
	must(os.Symlink(host, filepath.Join(root, "hostdir")))
	must(os.Symlink(filepath.Join(host, "secret"), filepath.Join(root, "tmp/x")))
	must(os.Symlink("../../../../../..", filepath.Join(root, "tmp/up")))
	r, err := Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, root, host
}

func TestGetKinds(t *testing.T) {
	r, _, _ := newRoot(t)
	e, err := r.Get("/etc/hostname")
	if err != nil || e.Type != TypeFile {
		t.Fatalf("file: %+v %v", e, err)
	}
	b, _ := io.ReadAll(e.File)
	e.File.Close()
	if string(b) != "c1\n" || e.Mode != 0o644 {
		t.Errorf("file content %q mode %o", b, e.Mode)
	}
	if e, err := r.Get("/etc"); err != nil || e.Type != TypeDirectory || strings.Join(e.Names, ",") != "hostname" {
		t.Errorf("directory: %+v %v", e, err)
	}
	if e, err := r.Get("/tmp/x"); err != nil || e.Type != TypeSymlink || !strings.HasSuffix(e.Target, "/secret") {
		t.Errorf("symlink: %+v %v", e, err)
	}
	// Through a symlink to "/": the container's own root, not the host's.
	if e, err := r.Get("/esc/etc/hostname"); err != nil || e.Type != TypeFile {
		t.Errorf("through /esc: %+v %v", e, err)
	} else {
		e.File.Close()
	}
}

func TestEscapesRefused(t *testing.T) {
	r, _, host := newRoot(t)
	for _, p := range []string{"/hostdir/secret", "/esc" + host + "/secret", "/tmp/up" + host + "/secret"} {
		if e, err := r.Get(p); !errors.Is(err, api.ErrNotFound) {
			if e.File != nil {
				e.File.Close()
			}
			t.Errorf("Get %s: %+v %v, want not found", p, e.Info, err)
		}
		if err := r.Put(p+"2", PutOptions{UID: -1, GID: -1, Mode: -1}, strings.NewReader("x")); err == nil {
			t.Errorf("Put %s succeeded", p)
		}
		if err := r.Delete(p); err == nil {
			t.Errorf("Delete %s succeeded", p)
		}
	}
	if err := r.Put("/tmp/x", PutOptions{UID: -1, GID: -1, Mode: -1}, strings.NewReader("EVIL")); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("write through a symlink: %v, want invalid", err)
	}
	for _, p := range []string{"/../etc/hostname", "/tmp/../../x", "etc/hostname", "/a\x00b"} {
		if _, err := r.Get(p); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("Get %q: %v, want invalid", p, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(host, "secret")); string(b) != "HOST" {
		t.Errorf("host secret changed: %q", b)
	}
	entries, _ := os.ReadDir(host)
	if len(entries) != 1 {
		t.Errorf("host dir gained entries: %v", entries)
	}
}

func TestPutModesAppendDelete(t *testing.T) {
	r, root, _ := newRoot(t)
	if err := r.Put("/etc/app.conf", PutOptions{UID: -1, GID: -1, Mode: 0o600}, strings.NewReader("a")); err != nil {
		t.Fatal(err)
	}
	if err := r.Put("/etc/app.conf", PutOptions{UID: -1, GID: -1, Mode: -1, Append: true}, strings.NewReader("b")); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(root, "etc/app.conf"))
	b, _ := os.ReadFile(filepath.Join(root, "etc/app.conf"))
	if string(b) != "ab" || st.Mode().Perm() != 0o600 {
		t.Errorf("after append: %q %v", b, st.Mode())
	}
	if err := r.Put("/etc/d", PutOptions{Type: TypeDirectory, UID: -1, GID: -1, Mode: 0o700}, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Put("/etc/d", PutOptions{Type: TypeDirectory, UID: -1, GID: -1, Mode: -1}, nil); err != nil {
		t.Errorf("existing directory: %v", err)
	}
	if err := r.Put("/etc/l", PutOptions{Type: TypeSymlink, UID: -1, GID: -1, Mode: -1}, strings.NewReader("/etc/hostname")); err != nil {
		t.Fatal(err)
	}
	if tgt, _ := os.Readlink(filepath.Join(root, "etc/l")); tgt != "/etc/hostname" {
		t.Errorf("symlink target %q", tgt)
	}
	if err := r.Put("/etc", PutOptions{Type: TypeSymlink, UID: -1, GID: -1, Mode: -1}, strings.NewReader("/")); !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("symlink over a directory: %v", err)
	}
	if err := r.Put("/", PutOptions{UID: -1, GID: -1, Mode: -1}, strings.NewReader("x")); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("write to /: %v", err)
	}
	if err := r.Delete("/etc"); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("delete of a non-empty directory: %v", err)
	}
	for _, p := range []string{"/etc/l", "/etc/d", "/etc/app.conf"} {
		if err := r.Delete(p); err != nil {
			t.Errorf("delete %s: %v", p, err)
		}
	}
	if _, err := r.Get("/etc/app.conf"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("deleted file: %v", err)
	}
}

func TestPutRefusesSpecialFiles(t *testing.T) {
	r, root, _ := newRoot(t)
	if err := syscall.Mkfifo(filepath.Join(root, "tmp/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Put("/tmp/fifo", PutOptions{UID: -1, GID: -1, Mode: -1}, strings.NewReader("x")) }()
	if err := <-done; !errors.Is(err, api.ErrInvalid) {
		t.Errorf("write to a fifo: %v, want invalid", err)
	}
	if _, err := r.Get("/tmp/fifo"); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("read of a fifo: %v, want invalid", err)
	}
}
