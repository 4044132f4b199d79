package db

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"lite/client/api"
)

// openAt opens a database at path with only the first n schema updates.
func openAt(t *testing.T, path string, n int) *DB {
	t.Helper()
	saved := updates
	updates = saved[:n]
	d, err := Open(context.Background(), path)
	updates = saved
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A database from before the update that already holds "web" and "WEB" keeps opening and
// serving both; new names and renames that differ only in case are refused from then on.
func TestInstanceNamesUniqueWithoutCase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lite.db")
	old := openAt(t, path, 4) // the schema before updateInstanceNamesNocase
	for _, n := range []string{"web", "WEB"} {
		insertOldInstance(t, old, n)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open a database with clashing names: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	for _, n := range []string{"web", "WEB"} {
		if _, err := d.GetInstance(ctx, n); err != nil {
			t.Errorf("existing %s after the update: %v", n, err)
		}
	}
	if err := d.SetInstanceConfig(ctx, "WEB", map[string]string{"user.x": "1"}); err != nil {
		t.Errorf("update an existing clashing instance: %v", err)
	}
	for _, n := range []string{"Web", "wEB", "web"} {
		if _, err := d.CreateInstance(ctx, testInstance(n)); !errors.Is(err, api.ErrAlreadyExists) {
			t.Errorf("create %s: err = %v, want ErrAlreadyExists", n, err)
		}
	}
	if _, err := d.CreateInstance(ctx, testInstance("db1")); err != nil {
		t.Fatal(err)
	}
	if err := d.RenameInstance(ctx, "db1", "Web"); !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("rename db1 to Web: err = %v, want ErrAlreadyExists", err)
	}
	if _, err := d.CreateInstance(ctx, testInstance("DB1")); !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("create DB1 beside db1: err = %v", err)
	}
	if err := d.RenameInstance(ctx, "db1", "Db1"); err != nil {
		t.Errorf("rename db1 to Db1 (its own name in another case): %v", err)
	}
	if other, err := d.InstanceNameClash(ctx, "DB1", ""); err != nil || other != "Db1" {
		t.Errorf("InstanceNameClash(DB1) = %q, %v; want Db1", other, err)
	}
	if other, err := d.InstanceNameClash(ctx, "DB1", "Db1"); err != nil || other != "" {
		t.Errorf("InstanceNameClash(DB1 except Db1) = %q, %v; want none", other, err)
	}
}

// The default profile gets limits.processes, unless it already sets one.
func TestDefaultProfileProcessLimit(t *testing.T) {
	ctx := context.Background()
	fresh, _ := openTemp(t)
	if p, err := fresh.GetProfile(ctx, "default"); err != nil || p.Config["limits.processes"] != DefaultProcessLimit {
		t.Errorf("fresh default profile: %v, %v; want limits.processes=%s", p.Config, err, DefaultProcessLimit)
	}
	for _, tc := range []struct{ set, want string }{{"", DefaultProcessLimit}, {"500", "500"}} {
		path := filepath.Join(t.TempDir(), "lite.db")
		old := openAt(t, path, 5) // the schema before updateDefaultProcessLimit
		p, err := old.GetProfile(ctx, "default")
		if err != nil {
			t.Fatal(err)
		}
		if tc.set != "" {
			p.Config["limits.processes"] = tc.set
			if err := old.UpdateProfile(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		old.Close()
		d, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		p, err = d.GetProfile(ctx, "default")
		d.Close()
		if err != nil || p.Config["limits.processes"] != tc.want {
			t.Errorf("default profile set to %q before the update: %v, %v; want %s", tc.set, p.Config, err, tc.want)
		}
	}
}

// insertOldInstance adds an instance row to a database at an older schema version, with the
// columns every version has (CreateInstance writes columns of later updates).
func insertOldInstance(t *testing.T, d *DB, name string) {
	t.Helper()
	now := time.Now().UTC()
	if _, err := d.sql.ExecContext(context.Background(), `INSERT INTO instances (name, architecture, created_at, last_used_at) VALUES (?, 'x86_64', ?, ?)`, name, now, now); err != nil {
		t.Fatalf("old schema: create %s: %v", name, err)
	}
}
