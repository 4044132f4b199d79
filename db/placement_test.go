package db

import (
	"context"
	"errors"
	"maps"
	"testing"

	"lite/client/api"
)

// withNodeColumn adds instances.node when the schema lacks it. The column is the cluster
// schema update's (branch cl-core); this stand-in lets placement be tested before that lands
// and does nothing after.
func withNodeColumn(t *testing.T, d *DB) {
	t.Helper()
	var n int
	if err := d.sql.QueryRow(`SELECT count(*) FROM pragma_table_info('instances') WHERE name = 'node'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		if _, err := d.sql.Exec(`ALTER TABLE instances ADD COLUMN node TEXT NOT NULL DEFAULT ''`); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInstanceNodes(t *testing.T) {
	d, _ := openTemp(t)
	withNodeColumn(t, d)
	ctx := context.Background()
	for _, n := range []string{"c1", "c2", "c3"} {
		if _, err := d.CreateInstance(ctx, testInstance(n)); err != nil {
			t.Fatal(err)
		}
	}
	if node, err := d.InstanceNode(ctx, "c1"); err != nil || node != "" {
		t.Errorf("new instance's node = %q, %v; want \"\" (the only host)", node, err)
	}
	if err := d.SetInstanceNode(ctx, "c1", "host2"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetInstanceNode(ctx, "c2", "host1"); err != nil {
		t.Fatal(err)
	}
	if node, err := d.InstanceNode(ctx, "c1"); err != nil || node != "host2" {
		t.Errorf("InstanceNode(c1) = %q, %v", node, err)
	}
	got, err := d.InstanceNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"c1": "host2", "c2": "host1", "c3": ""}; !maps.Equal(got, want) {
		t.Errorf("InstanceNodes() = %v, want %v", got, want)
	}
	if _, err := d.InstanceNode(ctx, "nope"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("InstanceNode(nope) err = %v, want ErrNotFound", err)
	}
	if err := d.SetInstanceNode(ctx, "nope", "host1"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("SetInstanceNode(nope) err = %v, want ErrNotFound", err)
	}
}
