package db

import (
	"context"
	"database/sql"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/schema.sql from the code")

// openTemp opens a fresh database in a temp dir and closes it when the test ends.
func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lite.db")
	d, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return d, path
}

func TestOpenUsesWALAndForeignKeys(t *testing.T) {
	d, path := openTemp(t)
	ctx := context.Background()
	var mode string
	if err := d.conn().QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var fk int
	if err := d.conn().QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if fk != 1 {
		t.Errorf("foreign_keys = %d, want 1", fk)
	}
	var busy int
	if err := d.conn().QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil {
		t.Fatal(err)
	}
	if busy <= 0 {
		t.Errorf("busy_timeout = %d, want > 0", busy)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file: %v", err)
	}
}

func TestOpenFailsOnUnusablePath(t *testing.T) {
	// A directory where the file should be: sqlite cannot open it.
	dir := t.TempDir()
	if _, err := Open(context.Background(), dir); err == nil {
		t.Fatal("Open on a directory succeeded")
	}
}

// TestSchemaMatchesCheckedIn compares the schema the updates produce with testdata/schema.sql,
// so a schema change has to update that file deliberately (go test ./db -run Schema -update).
func TestSchemaMatchesCheckedIn(t *testing.T) {
	d, _ := openTemp(t)
	got, err := d.Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "schema.sql")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read %s (run with -update to create it): %v", golden, err)
	}
	if got != string(want) {
		t.Errorf("schema differs from %s; if the change is deliberate, add an update and run go test ./db -run Schema -update\n--- got ---\n%s\n--- want ---\n%s", golden, got, want)
	}
	for _, table := range []string{"instances", "profiles", "instances_profiles", "images", "images_aliases", "config", "schema_version"} {
		if !strings.Contains(got, "CREATE TABLE "+table+" ") && !strings.Contains(got, "CREATE TABLE IF NOT EXISTS "+table+" ") {
			t.Errorf("schema has no table %s", table)
		}
	}
}

func schemaVersion(t *testing.T, d *DB) []int {
	t.Helper()
	rows, err := d.cur.Load().Query(`SELECT version FROM schema_version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReopenIsNoop(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lite.db")
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	before, err := d.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateInstance(ctx, testInstance("c1")); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer d.Close()
	after, err := d.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Errorf("schema changed on reopen:\n%s\nvs\n%s", before, after)
	}
	if v := schemaVersion(t, d); len(v) != 1 || v[0] != len(updates) {
		t.Errorf("schema_version rows = %v, want [%d]", v, len(updates))
	}
	if _, err := d.GetInstance(ctx, "c1"); err != nil {
		t.Errorf("instance lost on reopen: %v", err)
	}
	names, err := d.ListProfileNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "default" {
		t.Errorf("profiles after reopen = %v, want [default] (seed data applied once)", names)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lite.db")
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.conn().ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(updates)+1); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, err = Open(ctx, path)
	if err == nil {
		d.Close()
		t.Fatal("Open accepted a database newer than the code")
	}
	for _, want := range []string{"newer", "upgrade lited", path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestFailedUpdateRollsBack(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lite.db")
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	saved := updates
	t.Cleanup(func() { updates = saved })
	// A new update that creates a table and then fails: neither the table nor the version
	// bump may survive.
	updates = append(append(updates[:0:0], saved...), func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE half_done (x INTEGER)`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO no_such_table VALUES (1)`)
		return err
	})
	if d, err := Open(ctx, path); err == nil {
		d.Close()
		t.Fatal("Open succeeded although an update failed")
	} else if !strings.Contains(err.Error(), "schema update") {
		t.Errorf("error %q does not say which update failed", err)
	}
	updates = saved
	d, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if v := schemaVersion(t, d); len(v) != 1 || v[0] != len(saved) {
		t.Errorf("schema_version = %v after a failed update, want [%d]", v, len(saved))
	}
	var n int
	if err := d.conn().QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'half_done'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("table of the failed update survived: the update was not one transaction")
	}
}

// TestUpdateKeepsBackup opens a database made by an older lited: before updating, the old
// database is copied (0600) to lite.db.bak.N, and the copy still holds the old version and
// its rows. A fresh database needs no copy.
func TestUpdateKeepsBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "lite.db")
	saved := updates
	updates = saved[:len(saved)-1]
	d, err := Open(ctx, path)
	updates = saved
	if err != nil {
		t.Fatal(err)
	}
	old := len(saved) - 1
	if _, err := d.conn().ExecContext(ctx, `INSERT INTO config (key, value) VALUES ('marker', 'before')`); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(BackupPath(path, 0)); !os.IsNotExist(err) {
		t.Errorf("a fresh database made a backup: %v", err)
	}
	d, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	bak := BackupPath(path, old)
	st, err := os.Stat(bak)
	if err != nil {
		t.Fatalf("no backup before the update: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %04o, want 0600", st.Mode().Perm())
	}
	b, err := sql.Open("sqlite3", "file:"+bak+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var version int
	var marker string
	if err := b.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version); err != nil || version != old {
		t.Errorf("backup schema version %d (%v), want %d", version, err, old)
	}
	if err := b.QueryRowContext(ctx, `SELECT value FROM config WHERE key = 'marker'`).Scan(&marker); err != nil || marker != "before" {
		t.Errorf("backup lost the rows: %q %v", marker, err)
	}
}

// TestOpenMakesPrivateFiles checks the database and its WAL files are 0600.
func TestOpenMakesPrivateFiles(t *testing.T) {
	d, path := openTemp(t)
	if err := d.Tx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO config (key, value) VALUES ('k', 'v')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %04o, want 0600", p, st.Mode().Perm())
		}
	}
}
