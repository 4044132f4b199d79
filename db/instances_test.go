package db

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"lite/client/api"
)

func testInstance(name string) Instance {
	return Instance{
		Name: name, Type: "container", Architecture: "x86_64", Description: "test " + name,
		Config:     map[string]string{"user.a": "1", "volatile.base_image": "abc"},
		Devices:    map[string]map[string]string{"data": {"type": "disk", "path": "/data", "source": "/srv"}},
		Profiles:   []string{"default"},
		CreatedAt:  time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC),
		LastUsedAt: time.Unix(0, 0),
	}
}

// addProfile inserts a profile directly: profiles have no create call in db yet.
func addProfile(t *testing.T, d *DB, name, config string) {
	t.Helper()
	cfg, err := configFrom(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CreateProfile(context.Background(), Profile{Name: name, Config: cfg}); err != nil {
		t.Fatal(err)
	}
}

func countRows(t *testing.T, d *DB, table string) int {
	t.Helper()
	var n int
	if err := d.cur.Load().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateGetInstance(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	want := testInstance("c1")
	id, err := d.CreateInstance(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if id <= 0 {
		t.Errorf("id = %d", id)
	}
	got, err := d.GetInstance(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.Name != want.Name || got.Type != want.Type || got.Architecture != want.Architecture ||
		got.Description != want.Description || got.Ephemeral != want.Ephemeral {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(got.Config, want.Config) {
		t.Errorf("config = %v, want %v", got.Config, want.Config)
	}
	if !reflect.DeepEqual(got.Devices, want.Devices) {
		t.Errorf("devices = %v, want %v", got.Devices, want.Devices)
	}
	if !reflect.DeepEqual(got.Profiles, want.Profiles) {
		t.Errorf("profiles = %v, want %v", got.Profiles, want.Profiles)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("created_at = %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	if !got.LastUsedAt.Equal(want.LastUsedAt) {
		t.Errorf("last_used_at = %v, want %v", got.LastUsedAt, want.LastUsedAt)
	}
}

func TestNilMapsComeBackEmpty(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	inst := testInstance("c1")
	inst.Config, inst.Devices, inst.Profiles = nil, nil, nil
	if _, err := d.CreateInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetInstance(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	// The API must render {} and [], never null.
	if got.Config == nil || len(got.Config) != 0 {
		t.Errorf("config = %#v, want empty non-nil map", got.Config)
	}
	if got.Devices == nil || len(got.Devices) != 0 {
		t.Errorf("devices = %#v, want empty non-nil map", got.Devices)
	}
	if got.Profiles == nil || len(got.Profiles) != 0 {
		t.Errorf("profiles = %#v, want empty non-nil slice", got.Profiles)
	}
}

func TestCreateInstanceDuplicate(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	if _, err := d.CreateInstance(ctx, testInstance("c1")); err != nil {
		t.Fatal(err)
	}
	_, err := d.CreateInstance(ctx, testInstance("c1"))
	if !errors.Is(err, api.ErrAlreadyExists) {
		t.Fatalf("duplicate create: err = %v, want ErrAlreadyExists", err)
	}
	if !strings.Contains(err.Error(), `"c1"`) {
		t.Errorf("error %q does not name the instance", err)
	}
	if n := countRows(t, d, "instances"); n != 1 {
		t.Errorf("%d instance rows, want 1", n)
	}
}

func TestCreateInstanceUnknownProfileInsertsNothing(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	inst := testInstance("c1")
	inst.Profiles = []string{"default", "nope"}
	_, err := d.CreateInstance(ctx, inst)
	if !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("error %q does not name the profile", err)
	}
	if _, err := d.GetInstance(ctx, "c1"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("instance exists after a failed create (err %v): transaction not rolled back", err)
	}
	if n := countRows(t, d, "instances"); n != 0 {
		t.Errorf("%d instance rows left", n)
	}
	if n := countRows(t, d, "instances_profiles"); n != 0 {
		t.Errorf("%d profile links left", n)
	}
}

func TestGetInstanceMissing(t *testing.T) {
	d, _ := openTemp(t)
	_, err := d.GetInstance(context.Background(), "ghost")
	if !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if !IsNotFound(err) {
		t.Error("IsNotFound = false")
	}
}

func TestListInstancesOrderedWithProfiles(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	addProfile(t, d, "big", `{"limits.memory":"2GiB"}`)
	addProfile(t, d, "alpha", `{}`)
	list, err := d.ListInstances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Fatalf("empty db lists %v", list)
	}
	for _, n := range []string{"zeta", "alpha", "mid"} {
		inst := testInstance(n)
		// Apply order is the order given, not alphabetical and not by profile id.
		inst.Profiles = []string{"default", "big", "alpha"}
		if n == "mid" {
			inst.Profiles = []string{"alpha", "default"}
		}
		if _, err := d.CreateInstance(ctx, inst); err != nil {
			t.Fatal(err)
		}
	}
	list, err = d.ListInstances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range list {
		names = append(names, i.Name)
	}
	if strings.Join(names, ",") != "alpha,mid,zeta" {
		t.Errorf("order = %v, want alpha,mid,zeta", names)
	}
	if got := strings.Join(list[0].Profiles, ","); got != "default,big,alpha" {
		t.Errorf("alpha profiles = %s", got)
	}
	if got := strings.Join(list[1].Profiles, ","); got != "alpha,default" {
		t.Errorf("mid profiles = %s", got)
	}
	users, err := d.ProfileUsedBy(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(users, ",") != "alpha,zeta" {
		t.Errorf("big used by %v", users)
	}
}

func TestUpdateInstance(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	addProfile(t, d, "extra", `{}`)
	id, err := d.CreateInstance(ctx, testInstance("c1"))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := d.GetInstance(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	inst.Description = "new"
	inst.Ephemeral = true
	inst.Config = map[string]string{"user.b": "2"}
	inst.Devices = map[string]map[string]string{}
	inst.Profiles = []string{"extra", "default"}
	if err := d.UpdateInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetInstance(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.Description != "new" || !got.Ephemeral {
		t.Errorf("got %+v", got)
	}
	if !reflect.DeepEqual(got.Config, inst.Config) || len(got.Devices) != 0 {
		t.Errorf("config %v devices %v", got.Config, got.Devices)
	}
	if strings.Join(got.Profiles, ",") != "extra,default" {
		t.Errorf("profiles = %v", got.Profiles)
	}
}

func TestUpdateInstanceUnknownProfileRollsBack(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	if _, err := d.CreateInstance(ctx, testInstance("c1")); err != nil {
		t.Fatal(err)
	}
	inst, err := d.GetInstance(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	inst.Description = "changed"
	inst.Profiles = []string{"nope"}
	if err := d.UpdateInstance(ctx, inst); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	got, err := d.GetInstance(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Description != "test c1" || strings.Join(got.Profiles, ",") != "default" {
		t.Errorf("failed update left changes: description %q profiles %v", got.Description, got.Profiles)
	}
}

func TestUpdateInstanceMissing(t *testing.T) {
	d, _ := openTemp(t)
	inst := testInstance("ghost")
	inst.ID = 42
	if err := d.UpdateInstance(context.Background(), inst); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestSetInstanceConfig(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	if _, err := d.CreateInstance(ctx, testInstance("c1")); err != nil {
		t.Fatal(err)
	}
	err := d.SetInstanceConfig(ctx, "c1", map[string]string{
		"volatile.last_state.power": "RUNNING", // added
		"user.a":                    "",        // removed
		"volatile.base_image":       "def",     // replaced
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.GetInstance(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"volatile.last_state.power": "RUNNING", "volatile.base_image": "def"}
	if !reflect.DeepEqual(got.Config, want) {
		t.Errorf("config = %v, want %v", got.Config, want)
	}
	if len(got.Devices) != 1 || strings.Join(got.Profiles, ",") != "default" {
		t.Errorf("SetInstanceConfig touched devices/profiles: %v %v", got.Devices, got.Profiles)
	}
	if err := d.SetInstanceConfig(ctx, "ghost", map[string]string{"a": "b"}); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("missing instance: err = %v, want ErrNotFound", err)
	}
}

func TestTouchInstance(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	if _, err := d.CreateInstance(ctx, testInstance("c1")); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := d.TouchInstance(ctx, "c1", at); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetInstance(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastUsedAt.Equal(at) {
		t.Errorf("last_used_at = %v, want %v", got.LastUsedAt, at)
	}
}

func TestDeleteInstance(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	if _, err := d.CreateInstance(ctx, testInstance("c1")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateInstance(ctx, testInstance("c2")); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteInstance(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetInstance(ctx, "c1"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("deleted instance: err = %v", err)
	}
	if _, err := d.GetInstance(ctx, "c2"); err != nil {
		t.Errorf("other instance gone: %v", err)
	}
	// Profile links go with the row (ON DELETE CASCADE).
	if n := countRows(t, d, "instances_profiles"); n != 1 {
		t.Errorf("%d profile links, want 1 (c2's)", n)
	}
	if err := d.DeleteInstance(ctx, "c1"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("second delete: err = %v, want ErrNotFound", err)
	}
}

// The schema refuses to drop a profile that instances use, even if a caller forgets to check.
func TestProfileInUseCannotBeDeleted(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	addProfile(t, d, "p1", `{}`)
	inst := testInstance("c1")
	inst.Profiles = []string{"p1"}
	if _, err := d.CreateInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}
	_, err := d.conn().ExecContext(ctx, `DELETE FROM profiles WHERE name = 'p1'`)
	if err == nil {
		t.Fatal("deleting a profile in use succeeded: foreign key not enforced")
	}
	// SQLite reports a RESTRICT action with SQLITE_CONSTRAINT_TRIGGER (1811), not
	// SQLITE_CONSTRAINT_FOREIGNKEY (787); either must come out as a conflict.
	if mapped := mapErr(err); !errors.Is(mapped, api.ErrConflict) {
		var se sqlite3.Error
		errors.As(err, &se)
		t.Errorf("mapErr(%v) = %v (extended code %d): want ErrConflict (HTTP 409), not a 500", err, mapped, se.ExtendedCode)
	}
	if _, err := d.GetProfile(ctx, "p1"); err != nil {
		t.Errorf("profile gone: %v", err)
	}
	if err := d.DeleteInstance(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.conn().ExecContext(ctx, `DELETE FROM profiles WHERE name = 'p1'`); err != nil {
		t.Errorf("deleting an unused profile: %v", err)
	}
}

func TestProfiles(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	p, err := d.GetProfile(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	root := p.Devices["root"]
	if root["type"] != "disk" || root["path"] != "/" || root["pool"] != "default" {
		t.Errorf("default profile root device = %v", root)
	}
	if p.Config == nil {
		t.Error("default profile config is nil")
	}
	if _, err := d.GetProfile(ctx, "nope"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("missing profile: err = %v", err)
	}
	addProfile(t, d, "p1", `{"user.x":"y"}`)
	list, err := d.GetProfiles(ctx, []string{"p1", "default"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "p1" || list[1].Name != "default" || list[0].Config["user.x"] != "y" {
		t.Errorf("GetProfiles = %+v", list)
	}
	if _, err := d.GetProfiles(ctx, []string{"default", "nope"}); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("GetProfiles with a missing one: err = %v", err)
	}
	names, err := d.ListProfileNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "default,p1" {
		t.Errorf("names = %v", names)
	}
	users, err := d.ProfileUsedBy(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if users == nil || len(users) != 0 {
		t.Errorf("unused profile used by %#v, want empty non-nil", users)
	}
}
