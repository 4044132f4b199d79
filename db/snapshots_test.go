package db

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"lite/client/api"
)

// TestSnapshotsUpdateOnOlderDatabase opens a database made before the snapshots update (with
// an instance in it), applies it, and uses the new table.
func TestSnapshotsUpdateOnOlderDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lite.db")
	saved := updates
	t.Cleanup(func() { updates = saved })
	idx := -1
	for i := range saved {
		if funcName(saved[i]) == funcName(updateSnapshots) {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatal("updateSnapshots is not in updates")
	}
	updates = saved[:idx]
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	insertOldInstance(t, d, "old")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	updates = saved
	d, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("update an older database: %v", err)
	}
	defer d.Close()
	snap := Snapshot{Instance: "old", Name: "s0", Config: map[string]string{"user.a": "b"},
		Devices: map[string]map[string]string{}, Profiles: []string{"default"}, CreatedAt: time.Now()}
	if err := d.CreateSnapshot(ctx, snap); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateSnapshot(ctx, snap); !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("duplicate snapshot: %v", err)
	}
	snap.Instance = "nosuch"
	if err := d.CreateSnapshot(ctx, snap); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("snapshot of a missing instance: %v", err)
	}
	if err := d.RenameInstance(ctx, "old", "new"); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetSnapshot(ctx, "new", "s0")
	if err != nil || got.Config["user.a"] != "b" || len(got.Profiles) != 1 || !got.ExpiresAt.IsZero() {
		t.Fatalf("snapshot after instance rename: %+v %v", got, err)
	}
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if err := d.SetSnapshotExpiry(ctx, "new", "s0", exp); err != nil {
		t.Fatal(err)
	}
	if err := d.RenameSnapshot(ctx, "new", "s0", "s1"); err != nil {
		t.Fatal(err)
	}
	if got, err := d.GetSnapshot(ctx, "new", "s1"); err != nil || !got.ExpiresAt.Equal(exp) {
		t.Errorf("renamed snapshot: %+v %v", got, err)
	}
	if err := d.DeleteInstance(ctx, "new"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := d.sql.QueryRowContext(ctx, `SELECT count(*) FROM instances_snapshots`).Scan(&n); err != nil || n != 0 {
		t.Errorf("snapshot rows after the instance was deleted: %d %v", n, err)
	}
}

func funcName(f any) string { return fmt.Sprintf("%p", f) }
