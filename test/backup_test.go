package test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupExportImport exports a container with a snapshot and imports it under a new name
// (running from its own private layer), restores the imported snapshot, and refuses an import
// over an existing name.
func TestBackupExportImport(t *testing.T) {
	d := sharedDaemon(t)
	deleteOnCleanup(t, d, "bk-src", "bk-dst")
	mustLite(t, d, "init", "debian/12", "bk-src")
	mustLite(t, d, "file", "push", "-p", "/etc/hostname", "bk-src/root/before")
	mustLite(t, d, "snapshot", "bk-src", "s0")
	mustLite(t, d, "file", "push", "/etc/hostname", "bk-src/root/after")
	mustLite(t, d, "file", "delete", "bk-src/root/before", "bk-src/etc/motd")
	// A symlink standing where the backup goes is replaced, never written through: the file
	// it points at (the test's own) keeps its bytes.
	tmp := t.TempDir()
	backup, victim := filepath.Join(tmp, "bk.tar.gz"), filepath.Join(tmp, "victim")
	if err := os.WriteFile(victim, []byte("original"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, backup); err != nil {
		t.Fatal(err)
	}
	mustLite(t, d, "export", "bk-src", backup)
	if b, _ := os.ReadFile(victim); string(b) != "original" {
		t.Errorf("lite export wrote through a symlink at its target: victim holds %d bytes", len(b))
	}
	if st, err := os.Lstat(backup); err != nil || !st.Mode().IsRegular() {
		t.Errorf("export target: %v %v, want a regular file", st, err)
	}
	mustLite(t, d, "import", backup, "bk-dst")
	if _, stderr, code := d.Lite("import", backup, "bk-src"); code == 0 || !strings.Contains(stderr, "already exists") {
		t.Errorf("import over an existing name: exit %d %q", code, stderr)
	}
	mustLite(t, d, "start", "bk-dst")
	waitRunning(t, d, "bk-dst")
	check := func(want string) {
		t.Helper()
		got := mustLite(t, d, "exec", "bk-dst", "--", "sh", "-c", "ls /root; test -e /etc/motd && echo motd; cat /etc/hostname; stat -c %u /root")
		if got != want {
			t.Errorf("imported instance: %q, want %q", got, want)
		}
	}
	check("after\nbk-dst\n0\n")
	mustLite(t, d, "restore", "bk-dst", "s0")
	check("before\nmotd\nbk-src\n0\n") // the snapshot's files, as taken
	if rows := listCSV(t, d, "nS", "bk-dst"); len(rows) != 1 || rows[0][1] != "1" {
		t.Errorf("imported snapshots: %v", rows)
	}
}

// tarOf builds a tar (gzip-compressed when zip) from name/body pairs; a body starting with
// "->" makes a symlink to the rest.
func tarOf(t *testing.T, zip bool, entries ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	} = nopCloser{&buf}
	if zip {
		w = gzip.NewWriter(&buf)
	}
	tw := tar.NewWriter(w)
	for i := 0; i+1 < len(entries); i += 2 {
		name, body := entries[i], entries[i+1]
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(name, "/") {
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeDir, 0o755, 0
		} else if strings.HasPrefix(body, "->") {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeSymlink, body[2:], 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

// TestBackupHostileImport feeds imports with hostile entries, outside and inside the parts:
// each is refused with one line, and nothing is left in the daemon or on the host.
func TestBackupHostileImport(t *testing.T) {
	d := sharedDaemon(t)
	deleteOnCleanup(t, d, "bk-evil")
	index := "name: bk-evil\ninstance:\n  architecture: x86_64\n  config: {}\n  devices: {}\n  profiles: [default]\n"
	marker := filepath.Join(os.TempDir(), "lite-bk-escape")
	os.Remove(marker)
	part := func(entries ...string) string {
		return string(tarOf(t, true, append([]string{"metadata.yaml", "architecture: x86_64\n", "rootfs/", ""}, entries...)...))
	}
	cases := map[string][]byte{
		"outer ..":          tarOf(t, false, "index.yaml", index, "../evil", "x"),
		"outer absolute":    tarOf(t, false, "index.yaml", index, marker, "x"),
		"outer symlink":     tarOf(t, false, "index.yaml", index, "instance.tar.gz", "->/etc/passwd"),
		"outer unknown":     tarOf(t, false, "index.yaml", index, "instance.tar.gz", part(), "extra", "x"),
		"snapshot name":     tarOf(t, false, "index.yaml", index, "instance.tar.gz", part(), "snapshots/a/b.tar.gz", part()),
		"no rootfs":         tarOf(t, false, "index.yaml", index),
		"inner ..":          tarOf(t, false, "index.yaml", index, "instance.tar.gz", part("rootfs/../../../../../.."+marker, "x")),
		"inner symlink out": tarOf(t, false, "index.yaml", index, "instance.tar.gz", part("rootfs/etc", "->/tmp", "rootfs/etc/lite-bk-escape", "x")),
		"bad index":         tarOf(t, false, "index.yaml", "{{{", "instance.tar.gz", part()),
		"not a tar":         []byte("garbage"),
	}
	// Layers-only backups (a copy between servers): the image must be here and be the
	// instance's, and the whiteout markers must make sense.
	img, err := sharedWeb1(t).Client(t).GetImageAlias(t.Context(), "debian/12") // web1 brings the image
	if err != nil {
		t.Fatal(err)
	}
	thinIndex := func(base, config string) string {
		return "name: bk-evil\nbase_image: " + base + "\ninstance:\n  architecture: x86_64\n  config: {volatile.base_image: " + config + "}\n  devices: {}\n  profiles: [default]\n"
	}
	layer := func(entries ...string) string {
		return string(tarOf(t, true, append([]string{"rootfs/", ""}, entries...)...))
	}
	absent := strings.Repeat("f", 64)
	cases["layers on a missing image"] = tarOf(t, false, "index.yaml", thinIndex(absent, absent), "instance.tar.gz", layer())
	cases["layers on another image"] = tarOf(t, false, "index.yaml", thinIndex(img.Target, absent), "instance.tar.gz", layer())
	cases["whiteout beside its file"] = tarOf(t, false, "index.yaml", thinIndex(img.Target, img.Target), "instance.tar.gz",
		layer("rootfs/etc/", "", "rootfs/etc/x", "1", "rootfs/etc/.wh.x", ""))
	cases["whiteout marker a dir"] = tarOf(t, false, "index.yaml", thinIndex(img.Target, img.Target), "instance.tar.gz",
		layer("rootfs/.wh.etc/", ""))
	for what, data := range cases {
		path := filepath.Join(t.TempDir(), "evil.tar")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := d.Lite("import", path)
		t.Logf("%s: %s", what, strings.TrimSpace(stderr))
		if code == 0 || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%s: exit %d, stderr %q; want a one-line refusal", what, code, stderr)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("an import wrote %s on the host", marker)
		os.Remove(marker)
	}
	if names, _ := d.instanceNames(); strings.Contains(strings.Join(names, ","), "bk-evil") {
		t.Errorf("a refused import left an instance: %v", names)
	}
	entries, _ := os.ReadDir(filepath.Join(d.Dir, "containers"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") || e.Name() == "bk-evil" {
			t.Errorf("a refused import left %s", e.Name())
		}
	}
}
