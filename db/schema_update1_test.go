package db

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"lite/client/api"
)

// TestUpdate1MigratesJSONColumns builds a database with only update 0, fills its JSON columns,
// then opens it with every update and checks that the rows moved into the new tables.
func TestUpdate1MigratesJSONColumns(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lite.db")
	saved := updates
	updates = saved[:1]
	d, err := Open(ctx, path)
	updates = saved
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := d.conn().ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`INSERT INTO profiles (name, config, devices) VALUES ('small', '{"limits.memory":"256MiB","user.x":"a b"}', '{"data":{"type":"disk","source":"/srv","path":"/data","readonly":"true"},"mask":{"type":"none"}}')`)
	mustExec(`INSERT INTO instances (name, architecture, config, devices, created_at, last_used_at) VALUES ('c1', 'x86_64', '{"volatile.base_image":"abc","limits.cpu":"1"}', '{"tmp":{"type":"disk","source":"/tmp/x","path":"/x"}}', ?, ?)`, now, now)
	mustExec(`INSERT INTO instances (name, architecture, config, devices, created_at, last_used_at) VALUES ('c2', 'x86_64', '{}', '{}', ?, ?)`, now, now)
	mustExec(`INSERT INTO instances_profiles (instance_id, profile_id, apply_order) SELECT i.id, p.id, 0 FROM instances i, profiles p WHERE i.name = 'c1' AND p.name = 'small'`)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("open with update 1: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if v := schemaVersion(t, d); len(v) != 1 || v[0] != len(updates) {
		t.Fatalf("schema_version = %v, want [%d]", v, len(updates))
	}
	c1, err := d.GetInstance(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"volatile.base_image": "abc", "limits.cpu": "1"}; !reflect.DeepEqual(c1.Config, want) {
		t.Errorf("c1 config = %v, want %v", c1.Config, want)
	}
	if want := map[string]map[string]string{"tmp": {"type": "disk", "source": "/tmp/x", "path": "/x"}}; !reflect.DeepEqual(c1.Devices, want) {
		t.Errorf("c1 devices = %v, want %v", c1.Devices, want)
	}
	if !reflect.DeepEqual(c1.Profiles, []string{"small"}) {
		t.Errorf("c1 profiles = %v", c1.Profiles)
	}
	c2, err := d.GetInstance(ctx, "c2")
	if err != nil {
		t.Fatal(err)
	}
	if c2.Config == nil || c2.Devices == nil || len(c2.Config)+len(c2.Devices) != 0 {
		t.Errorf("c2 = %v %v, want empty maps", c2.Config, c2.Devices)
	}
	p, err := d.GetProfile(ctx, "small")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"limits.memory": "256MiB", "user.x": "a b"}; !reflect.DeepEqual(p.Config, want) {
		t.Errorf("profile config = %v, want %v", p.Config, want)
	}
	wantDevs := map[string]map[string]string{
		"data": {"type": "disk", "source": "/srv", "path": "/data", "readonly": "true"},
		"mask": {"type": "none"},
	}
	if !reflect.DeepEqual(p.Devices, wantDevs) {
		t.Errorf("profile devices = %v, want %v", p.Devices, wantDevs)
	}
	def, err := d.GetProfile(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if def.Devices["root"]["pool"] != "default" || def.Devices["root"]["path"] != "/" {
		t.Errorf("default profile devices = %v", def.Devices)
	}
	// The JSON columns are gone.
	if _, err := d.conn().ExecContext(ctx, `SELECT config FROM instances`); err == nil {
		t.Error("instances.config still exists")
	}
	// Deleting the instance cascades to its config and devices.
	if err := d.DeleteInstance(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"instances_config", "instances_devices", "instances_devices_config"} {
		if n := countRows(t, d, table); n != 0 {
			t.Errorf("%s has %d rows after the only instance with rows was deleted", table, n)
		}
	}
}

func TestProfileCRUD(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	p := Profile{Name: "p1", Description: "one", Config: map[string]string{"limits.cpu": "1"},
		Devices: map[string]map[string]string{"data": {"type": "disk", "source": "/srv", "path": "/data"}}}
	if err := d.CreateProfile(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateProfile(ctx, p); !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("duplicate create: %v, want ErrAlreadyExists", err)
	}
	got, err := d.GetProfile(ctx, "p1")
	if err != nil || got.Description != "one" || !reflect.DeepEqual(got.Config, p.Config) || !reflect.DeepEqual(got.Devices, p.Devices) {
		t.Fatalf("GetProfile = %+v, %v", got, err)
	}
	p.Config = map[string]string{"limits.memory": "1GiB"}
	p.Devices = map[string]map[string]string{}
	p.Description = "two"
	if err := d.UpdateProfile(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, _ = d.GetProfile(ctx, "p1")
	if got.Description != "two" || !reflect.DeepEqual(got.Config, p.Config) || len(got.Devices) != 0 {
		t.Errorf("after update: %+v", got)
	}
	if n := countRows(t, d, "profiles_devices"); n != 1 {
		t.Errorf("profiles_devices has %d rows, want only the default profile's root", n)
	}
	if err := d.UpdateProfile(ctx, Profile{Name: "nope"}); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}
	if err := d.RenameProfile(ctx, "p1", "default"); !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("rename onto default: %v", err)
	}
	if err := d.RenameProfile(ctx, "nope", "x"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("rename missing: %v", err)
	}
	inst := testInstance("c1")
	inst.Profiles = []string{"p1"}
	if _, err := d.CreateInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if err := d.RenameProfile(ctx, "p1", "p2"); err != nil {
		t.Fatal(err)
	}
	c1, _ := d.GetInstance(ctx, "c1")
	if !reflect.DeepEqual(c1.Profiles, []string{"p2"}) {
		t.Errorf("instance profiles after rename = %v", c1.Profiles)
	}
	err = d.DeleteProfile(ctx, "p2")
	if !errors.Is(err, api.ErrConflict) || !strings.Contains(err.Error(), "c1") {
		t.Errorf("delete in use: %v, want ErrConflict naming c1", err)
	}
	if err := d.DeleteInstance(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteProfile(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteProfile(ctx, "p2"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if n := countRows(t, d, "profiles_config"); n != 1 { // the default profile's limits.processes
		t.Errorf("profiles_config keeps %d rows of a deleted profile", n-1)
	}
}
