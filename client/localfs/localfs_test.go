package localfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// plant makes dir/name a symlink to a victim file and directory the test made, and returns them.
func plant(t *testing.T, dir, name string, toDir bool) (victim string) {
	t.Helper()
	outside := t.TempDir()
	victim = filepath.Join(outside, "victim")
	if toDir {
		if err := os.Mkdir(victim, 0o755); err != nil {
			t.Fatal(err)
		}
	} else if err := os.WriteFile(victim, []byte("original"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	return victim
}

func TestWriteFileReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := plant(t, dir, "a", false)
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.WriteFile("a", 0o640, strings.NewReader("hostile")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "original" {
		t.Fatalf("written through the symlink: victim holds %q", b)
	}
	st, err := os.Lstat(filepath.Join(dir, "a"))
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o640 {
		t.Fatalf("a: %v %v, want a regular 0640 file", st.Mode(), err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a")); string(b) != "hostile" {
		t.Fatalf("a holds %q", b)
	}
	assertOnly(t, dir, "a")
}

func TestMkdirRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := plant(t, dir, "a", true)
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = d.Mkdir("a", 0o755)
	if err == nil || !strings.Contains(err.Error(), "is a symlink: refusing to write through it") {
		t.Fatalf("Mkdir over a symlink: %v, want a refusal", err)
	}
	if entries, _ := os.ReadDir(victim); len(entries) != 0 {
		t.Fatalf("victim directory gained %v", entries)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Mkdir("f", 0o755); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("Mkdir over a file: %v", err)
	}
}

func TestSymlinkReplacesAndNamesAreChecked(t *testing.T) {
	dir := t.TempDir()
	plant(t, dir, "l", true)
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Symlink("/new", "l"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.Readlink(filepath.Join(dir, "l")); got != "/new" {
		t.Fatalf("l -> %q", got)
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b", "x\x00"} {
		if err := d.WriteFile(bad, 0o644, strings.NewReader("x")); err == nil {
			t.Errorf("WriteFile(%q) accepted", bad)
		}
		if _, err := d.Mkdir(bad, 0o755); err == nil {
			t.Errorf("Mkdir(%q) accepted", bad)
		}
	}
	assertOnly(t, dir, "l")
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	f, err := CreatePath(filepath.Join(dir, "out"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("half"); err != nil {
		t.Fatal(err)
	}
	f.Abort()
	f.Abort()
	assertOnly(t, dir)
}

// assertOnly checks dir holds exactly names (no temporary file left behind).
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
}
