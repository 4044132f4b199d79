package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lite/client/api"
)

// backupEnv is an overlay env with b1 made from an image layer that has a metadata.yaml.
func backupEnv(t *testing.T) *env {
	t.Helper()
	e := newEnvWith(t, envOptions{overlay: true})
	layer := filepath.Join(e.dir, "images", testFP)
	if err := os.MkdirAll(layer, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(layer, "metadata.yaml"), []byte("architecture: x86_64\ncreation_date: 1700000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Privileged: ids are not shifted, so the fake layer's root-owned files pack as they are.
	e.create("b1", map[string]any{"config": map[string]string{"security.privileged": "true"}})
	return e
}

func TestBackupsAPI(t *testing.T) {
	e := backupEnv(t)
	op := e.succeed("POST", "/1.0/instances/b1/backups", map[string]any{"name": "", "instance_only": true})
	urls := op.Resources["backups"]
	if len(urls) != 1 || urls[0] != "backup0" {
		t.Fatalf("create backup: resources %v", op.Resources)
	}
	var list []string
	e.ok("GET", "/1.0/containers/b1/backups", nil, &list)
	if len(list) != 1 || list[0] != "/1.0/containers/b1/backups/backup0" {
		t.Fatalf("legacy list: %v", list)
	}
	var bk api.InstanceBackup
	e.ok("GET", "/1.0/instances/b1/backups/backup0", nil, &bk)
	if bk.Name != "backup0" || !bk.InstanceOnly || bk.CreatedAt.IsZero() {
		t.Fatalf("backup: %+v", bk)
	}
	tar := filepath.Join(e.pool, "b1", "backups", "backup0.tar")
	if st, err := os.Stat(tar); err != nil || st.Mode().Perm() != 0o600 || st.Size() == 0 {
		t.Fatalf("stored tarball: %v %v", st, err)
	}
	// The download is the stored tarball (lxc import of it: TestLXDClient).
	st, body := rawReq(t, e, "GET", "/1.0/instances/b1/backups/backup0/export", "")
	want, _ := os.ReadFile(tar)
	if st != 200 || body != string(want) {
		t.Fatalf("export: %d, %d bytes (want %d)", st, len(body), len(want))
	}
	e.succeed("POST", "/1.0/instances/b1/backups/backup0", map[string]string{"name": "kept"})
	e.fail("GET", "/1.0/instances/b1/backups/backup0", nil, 404)
	e.ok("GET", "/1.0/instances/b1/backups/kept", nil, &bk)
	e.succeed("POST", "/1.0/instances/b1/backups", map[string]any{"name": "kept2"})
	if msg := e.fail("POST", "/1.0/instances/b1/backups", map[string]any{"name": "kept2"}, 409); !strings.Contains(msg, "already exists") {
		t.Errorf("duplicate name: %q", msg)
	}
	e.succeed("DELETE", "/1.0/instances/b1/backups/kept2", nil)
	e.fail("DELETE", "/1.0/instances/b1/backups/kept2", nil, 404)
	if _, err := os.Stat(filepath.Join(e.pool, "b1", "backups", "kept2.tar")); !os.IsNotExist(err) {
		t.Errorf("deleted backup's tarball: %v", err)
	}
	// An expired backup disappears.
	e.succeed("POST", "/1.0/instances/b1/backups", map[string]any{"name": "old", "expires_at": time.Now().Add(-time.Hour)})
	e.fail("GET", "/1.0/instances/b1/backups/old", nil, 404)
}

func TestBackupsAPIBadInput(t *testing.T) {
	e := backupEnv(t)
	for _, c := range []struct {
		body any
		want string
	}{
		{map[string]any{"name": "../x"}, "backup name"},
		{map[string]any{"name": ".hidden"}, "backup name"},
		{map[string]any{"optimized_storage": true}, "optimized_storage"},
		{map[string]any{"compression_algorithm": "zstd"}, "compression_algorithm"},
		{"{bad", "bad JSON"},
	} {
		if msg := e.fail("POST", "/1.0/instances/b1/backups", c.body, 400); !strings.Contains(msg, c.want) {
			t.Errorf("POST %v: %q, want %q", c.body, msg, c.want)
		}
	}
	e.fail("POST", "/1.0/instances/nope/backups", map[string]any{}, 404)
	e.fail("GET", "/1.0/instances/b1/backups/nope/export", nil, 404)
	e.succeed("POST", "/1.0/instances/b1/backups", map[string]any{"name": "a"})
	if msg := e.failOp("POST", "/1.0/instances/b1/backups/a", map[string]string{"name": "x/y"}); !strings.Contains(msg, "backup name") {
		t.Errorf("rename to x/y: %q", msg)
	}
	if _, err := os.Stat(filepath.Join(e.pool, "b1", "backups", "a.tar")); err != nil {
		t.Errorf("a refused rename lost the backup: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.pool, "b1", "backups")); len(ents) != 2 {
		t.Errorf("backups dir holds %d entries, want a.tar and a.json", len(ents))
	}
}
