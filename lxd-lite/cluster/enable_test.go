package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"lite/client/api"
	"lite/db"
)

// Enable moves every row of every table into dqlite: the tables compare equal before and
// after (but for what enabling itself adds), and lited keeps working on the same *db.DB.
// A restart (Open again) finds the member and its data.
func TestEnableMovesEverything(t *testing.T) {
	ctx := context.Background()
	m := newTestMember(t)
	fill(t, m.db)
	before := dump(t, m.db)
	m.enable(t, "h1")
	if !m.svc.Enabled() || m.svc.LocalName() != "h1" {
		t.Fatalf("after enable: enabled %v name %q", m.svc.Enabled(), m.svc.LocalName())
	}
	if m.db.SQLitePath() != "" {
		t.Fatalf("the database is still SQLite (%s)", m.db.SQLitePath())
	}
	after := dump(t, m.db)
	// What enabling adds: the member row, the instances' and images' member, and
	// core.https_address becoming the member's own.
	want := expectEnabled(before)
	for table := range want {
		if table == "nodes" {
			continue
		}
		if !reflect.DeepEqual(after[table], want[table]) {
			t.Errorf("table %s after enable:\n got %q\nwant %q", table, after[table], want[table])
		}
	}
	if len(after["nodes"]) != 1 {
		t.Errorf("nodes = %q, want the first member", after["nodes"])
	}
	if _, err := os.Stat(filepath.Join(m.dir, "lite.db.before-cluster")); err != nil {
		t.Errorf("SQLite database not set aside: %v", err)
	}
	// Writes go to dqlite and are read back.
	if err := m.db.SetInstanceConfig(ctx, "web1", map[string]string{"user.b": "2"}); err != nil {
		t.Fatal(err)
	}
	inst, err := m.db.GetInstance(ctx, "web1")
	if err != nil || inst.Config["user.b"] != "2" || inst.Node != "h1" {
		t.Fatalf("instance on dqlite: %+v, %v", inst, err)
	}
	// Same constraint kinds as on SQLite.
	if _, err := m.db.CreateInstance(ctx, db.Instance{Name: "WEB1", Type: "container", Architecture: "x86_64", Profiles: []string{}, CreatedAt: time.Now(), LastUsedAt: time.Now()}); !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("duplicate name on dqlite: %v, want ErrAlreadyExists", err)
	}
	if err := m.db.DeleteProfile(ctx, "default"); !errors.Is(err, api.ErrConflict) {
		t.Errorf("delete a used profile on dqlite: %v, want ErrConflict", err)
	}
	cfg, ok := m.svc.MemberConfig()
	if !ok || cfg["core.https_address"] != m.https {
		t.Errorf("member config = %v %v", cfg, ok)
	}
	if err := m.svc.Enable(ctx, EnableOptions{Name: "h1", HTTPSAddress: m.https, DBAddress: freePort(t)}); !errors.Is(err, api.ErrConflict) {
		t.Errorf("enable twice: %v, want ErrConflict", err)
	}
	restart(t, m)
	if inst, err := m.db.GetInstance(ctx, "web1"); err != nil || inst.Config["user.b"] != "2" {
		t.Fatalf("after restart: %+v, %v", inst, err)
	}
	if m.svc.LocalName() != "h1" {
		t.Errorf("after restart: name %q", m.svc.LocalName())
	}
}

// expectEnabled is what the tables of before should be once member h1 holds everything.
func expectEnabled(before map[string][]string) map[string][]string {
	want := map[string][]string{}
	for table, rows := range before {
		for _, r := range rows {
			switch {
			case table == "instances":
				r = strings.Replace(r, " node= ", " node=h1 ", 1)
			case table == "config" && strings.HasPrefix(r, "key=core.https_address "):
				continue
			}
			want[table] = append(want[table], r)
		}
	}
	want["sqlite_sequence"] = append(want["sqlite_sequence"], "name=nodes seq=1 ")
	slices.Sort(want["sqlite_sequence"])
	return want
}

// restart closes m's database and node and opens them again, as a lited restart does.
func restart(t *testing.T, m *testMember) {
	t.Helper()
	ctx := context.Background()
	if err := m.db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.svc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	svc, d, err := Open(ctx, m.dir, filepath.Join(m.dir, "lite.db"), m.svc.log)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	m.svc, m.db = svc, d
}

// An enable without core.https_address, with a bad name or a wildcard address changes
// nothing.
func TestEnableRefusals(t *testing.T) {
	m := newTestMember(t)
	ctx := context.Background()
	for _, o := range []EnableOptions{
		{Name: "h1"},
		{Name: "Bad_Name", HTTPSAddress: m.https},
		{Name: "h1", HTTPSAddress: "0.0.0.0:8443"},
		{Name: "h1", HTTPSAddress: ":8443"},
	} {
		if err := m.svc.Enable(ctx, o); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("enable %+v: %v, want ErrInvalid", o, err)
		}
	}
	if m.svc.Enabled() || m.db.SQLitePath() == "" {
		t.Fatal("a refused enable changed the server")
	}
	if _, err := os.Stat(filepath.Join(m.dir, stateDir)); !os.IsNotExist(err) {
		t.Errorf("a refused enable left %s: %v", stateDir, err)
	}
}
