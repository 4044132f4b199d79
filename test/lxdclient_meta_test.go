package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lxcMetadata drives `lxc config metadata` and `lxc config template` on lx1: an edited
// metadata.yaml with a new start template renders into the container at the next start.
func lxcMetadata(t *testing.T, c *lxcClient) {
	shown := c.must(t, "config", "metadata", "show", "lx1")
	if !strings.Contains(shown, "architecture:") {
		t.Fatalf("lxc config metadata show lx1: %q", shown)
	}
	meta := "architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  description: edited by lxc\n" +
		"templates:\n  /etc/lite-motd:\n    when:\n    - start\n    template: motd.tpl\n"
	c.mustIn(t, meta, "config", "metadata", "edit", "lx1")
	if out := c.must(t, "config", "metadata", "show", "lx1"); !strings.Contains(out, "edited by lxc") || !strings.Contains(out, "/etc/lite-motd") {
		t.Errorf("metadata after edit: %q", out)
	}
	c.fails(t, "plain file name", "config", "template", "show", "lx1", "../metadata.yaml")
	c.must(t, "config", "template", "create", "lx1", "motd.tpl")
	c.mustIn(t, "hello {{ container.name }}\n", "config", "template", "edit", "lx1", "motd.tpl")
	if out := c.must(t, "config", "template", "show", "lx1", "motd.tpl"); out != "hello {{ container.name }}\n" {
		t.Errorf("template show: %q", out)
	}
	if out := c.must(t, "config", "template", "list", "lx1", "--format", "csv"); !strings.Contains(out, "motd.tpl") {
		t.Errorf("template list: %q", out)
	}
	c.must(t, "stop", "lx1")
	c.must(t, "start", "lx1")
	waitRunning(t, c.d, "lx1")
	if out := c.must(t, "exec", "lx1", "--", "cat", "/etc/lite-motd"); out != "hello lx1\n" {
		t.Errorf("the edited start template rendered %q", out)
	}
	c.must(t, "config", "template", "delete", "lx1", "motd.tpl")
	if out := c.must(t, "config", "template", "list", "lx1", "--format", "csv"); strings.Contains(out, "motd.tpl") {
		t.Errorf("template list after delete: %q", out)
	}
	// Without the template file the start template cannot render: drop the entry again.
	c.mustIn(t, "architecture: x86_64\ncreation_date: 1700000000\n", "config", "metadata", "edit", "lx1")
}

// lxcExportImport drives LXD's backup API with lxc: export lx1 (a stored backup, downloaded,
// then deleted by the client) and import it under a new name.
func lxcExportImport(t *testing.T, c *lxcClient) {
	d := c.d
	file := filepath.Join(t.TempDir(), "lx1.tar.gz")
	c.must(t, "export", "lx1", file, "--instance-only")
	if st, err := os.Stat(file); err != nil || st.Size() == 0 {
		t.Fatalf("lxc export wrote %v %v", st, err)
	}
	if out := c.must(t, "query", "/1.0/instances/lx1/backups"); strings.Contains(out, "backups/") {
		t.Errorf("lxc export left its backup on the server: %s", out)
	}
	c.fails(t, "optimized_storage", "export", "lx1", filepath.Join(t.TempDir(), "x.tar.gz"), "--optimized-storage")
	// lite import reads what lxc export wrote.
	mustLite(t, d, "import", file, "lx5")
	if out := mustLite(t, d, "list", "--format", "csv", "-c", "ns"); !strings.Contains(out, "lx5,STOPPED") {
		t.Errorf("after lite import: lite list says %q", out)
	}
	mustLite(t, d, "delete", "lx5")
	c.must(t, "import", file, "lx4")
	if out := mustLite(t, d, "list", "--format", "csv", "-c", "ns"); !strings.Contains(out, "lx4,STOPPED") {
		t.Fatalf("after lxc import: lite list says %q", out)
	}
	c.must(t, "start", "lx4")
	waitRunning(t, d, "lx4")
	if out := c.must(t, "exec", "lx4", "--", "cat", "/etc/hostname"); out != "lx4\n" {
		t.Errorf("imported lx4's hostname: %q", out)
	}
	c.must(t, "delete", "--force", "lx4")
}
