package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// filesMentioning returns the regular files under dir whose content holds s; logs (*.log)
// are history and are not searched.
func filesMentioning(t *testing.T, dir, s string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() || strings.HasSuffix(p, ".log") {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), s) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// TestRenameLeavesNoOldName renames a container that ran (so it has an lxc config, a lease
// and a DNS name): afterwards nothing of the old name remains, `lite list` does not bring
// its directory back, a new container can take the old name, and the renamed one starts
// under its new name with an address.
func TestRenameLeavesNoOldName(t *testing.T) {
	d := sharedDaemon(t)
	const oldName, newName = "robust-old", "robust-new"
	deleteOnCleanup(t, d, oldName, newName)
	mustLite(t, d, "launch", "debian/12", oldName)
	waitIPv4(t, d, oldName, "")
	mustLite(t, d, "stop", oldName)
	mustLite(t, d, "rename", oldName, newName)
	for i := 0; i < 3; i++ {
		mustLite(t, d, "list")
		mustLite(t, d, "info", newName)
	}
	containers := filepath.Join(d.Dir, "containers")
	if _, err := os.Stat(filepath.Join(containers, oldName)); !os.IsNotExist(err) {
		t.Errorf("containers/%s exists after the rename and a few lists (%v)", oldName, err)
	}
	cfg := filepath.Join(containers, newName, "config")
	if hits := filesMentioning(t, filepath.Dir(cfg), "/"+oldName+"/"); len(hits) > 0 {
		t.Errorf("files of %s still name the old directory: %v", newName, hits)
	}
	if hits := filesMentioning(t, filepath.Join(d.Dir, "networks"), oldName); len(hits) > 0 {
		t.Errorf("network state still names %s (lease or DNS): %v", oldName, hits)
	}
	mustLite(t, d, "launch", "debian/12", oldName)
	mustLite(t, d, "delete", "--force", oldName)
	if _, stderr, code := d.Lite("delete", oldName); code == 0 || !strings.Contains(stderr, "not found") {
		t.Errorf("delete of the gone %s: exit %d %q", oldName, code, stderr)
	}
	mustLite(t, d, "start", newName)
	waitIPv4(t, d, newName, "")
	if out := mustLite(t, d, "exec", newName, "--", "hostname"); strings.TrimSpace(out) != newName {
		t.Errorf("hostname after the rename: %q", out)
	}
	if hits := filesMentioning(t, filepath.Join(d.Dir, "networks"), newName); len(hits) == 0 {
		t.Errorf("network state does not know %s after its start", newName)
	}
	mustLite(t, d, "delete", "--force", newName)
	if _, err := os.Stat(filepath.Join(containers, oldName)); !os.IsNotExist(err) {
		t.Errorf("containers/%s exists at the end (%v)", oldName, err)
	}
}
