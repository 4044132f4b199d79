package test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// dirEntries lists the names in dir (nil when it cannot be read).
func dirEntries(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// requireMode fails unless path has exactly the permission bits want.
func requireMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != want {
		t.Errorf("%s has mode %04o, want %04o", path, st.Mode().Perm(), want)
	}
}

// TestStateDirGuards checks the state dir's permissions (database and its WAL files 0600,
// LITE_DIR 0711, fixed at every start) and that lited refuses, touching nothing, to start
// on a LITE_DIR whose database is missing or empty beside containers and images.
func TestStateDirGuards(t *testing.T) {
	d := startDaemon(t)
	mustLite(t, d, "init", "debian/12", "guard1")
	mustLite(t, d, "config", "set", "guard1", "environment.SECRET=hunter2")
	db := filepath.Join(d.Dir, "lite.db")
	requireMode(t, d.Dir, 0o711)
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		requireMode(t, p, 0o600)
	}

	// Loosened while lited was down: fixed at the next start.
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	for p, m := range map[string]os.FileMode{d.Dir: 0o755, db: 0o644} {
		if err := os.Chmod(p, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	requireMode(t, d.Dir, 0o711)
	requireMode(t, db, 0o600)
	if log := d.readLog(0); !strings.Contains(log, "fixed permissions") {
		t.Errorf("lited did not log the permissions it fixed")
	}

	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	images := filepath.Join(d.Dir, "images")
	containers := filepath.Join(d.Dir, "containers")
	beforeImages, beforeContainers := dirEntries(images), dirEntries(containers)
	if len(beforeImages) == 0 || !slices.Contains(beforeContainers, "guard1") {
		t.Fatalf("expected an image and guard1 on disk: images %v, containers %v", beforeImages, beforeContainers)
	}
	aside := t.TempDir()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(db+suffix, filepath.Join(aside, "lite.db"+suffix)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	for _, state := range []string{"missing", "empty"} {
		if state == "empty" {
			if err := os.WriteFile(db, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		from := d.logSize()
		err := d.start()
		if err == nil {
			t.Fatalf("lited started on a state dir whose database is %s", state)
		}
		log := d.readLog(from)
		if !strings.Contains(log, "refusing to start") || !strings.Contains(log, "is "+state) {
			t.Errorf("database %s: lited's message does not say why it refused:\n%s", state, log)
		}
		if got := dirEntries(images); !slices.Equal(got, beforeImages) {
			t.Errorf("database %s: images/ changed from %v to %v", state, beforeImages, got)
		}
		if got := dirEntries(containers); !slices.Equal(got, beforeContainers) {
			t.Errorf("database %s: containers/ changed from %v to %v", state, beforeContainers, got)
		}
		st, err := os.Stat(db)
		if state == "missing" && !os.IsNotExist(err) {
			t.Errorf("lited made a database although it refused to start (%v)", err)
		}
		if state == "empty" && (err != nil || st.Size() != 0) {
			t.Errorf("lited changed the empty database (%v)", err)
		}
	}
	if err := os.Remove(db); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(filepath.Join(aside, "lite.db"+suffix), db+suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	if out := mustLite(t, d, "config", "get", "guard1", "environment.SECRET"); strings.TrimSpace(out) != "hunter2" {
		t.Errorf("after restoring the database: environment.SECRET = %q", out)
	}
	mustLite(t, d, "delete", "guard1")
}
