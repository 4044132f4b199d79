package images

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"lite/lxd-lite/idmap"

	"gopkg.in/yaml.v3"
)

// templateFixture makes a layer dir with the given metadata.yaml and
// templates, and an empty rootfs with /etc, owned by the shifted root.
func templateFixture(t *testing.T, meta string, tpls map[string]string) (layer, rootfs string) {
	t.Helper()
	layer = t.TempDir()
	rootfs = t.TempDir()
	if err := os.WriteFile(filepath.Join(layer, "metadata.yaml"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(layer, "templates"), 0o755)
	for name, body := range tpls {
		if err := os.WriteFile(filepath.Join(layer, "templates", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755)
	return layer, rootfs
}

const contextMeta = `architecture: x86_64
creation_date: 1
templates:
  /etc/hostname:
    when: [create, copy, rename]
    template: hostname.tpl
  /etc/context:
    when: [create]
    template: context.tpl
    properties:
      default: fallback
  /etc/start-only:
    when: [start]
    template: hostname.tpl
  /var/lib/new/deep/file:
    when: [create]
    template: hostname.tpl
  /etc/keep:
    when: [create]
    create_only: true
    template: hostname.tpl
`

func TestRenderTemplates(t *testing.T) {
	requireRoot(t)
	tpls := map[string]string{
		"hostname.tpl": "{{ instance.name }}\n",
		"context.tpl": `{{ trigger }} {{ path }} {{ container.name }} {{ instance.type }} {{ instance.architecture }} ` +
			`{{ instance.privileged }} {{ instance.ephemeral }} {{ config["user.x"] }} {{ devices.eth0.network }} ` +
			`{{ config_get("user.y", properties.default) }} {{ config_get("user.x", "d") }} <&>` +
			`{% if instance.privileged == "false" %} unpriv{% endif %}`,
	}
	layer, rootfs := templateFixture(t, contextMeta, tpls)
	os.WriteFile(filepath.Join(rootfs, "etc/hostname"), []byte("old\n"), 0o600)
	os.Chown(filepath.Join(rootfs, "etc/hostname"), 100007, 100008)
	os.WriteFile(filepath.Join(rootfs, "etc/keep"), []byte("mine\n"), 0o644)
	shift := idmap.Map{UID: 100000, GID: 100000, Size: idmap.Size}
	tctx := TemplateContext{
		Name: "web1", Architecture: "x86_64",
		Config:  map[string]string{"user.x": "hello\r\n"},
		Devices: map[string]map[string]string{"eth0": {"type": "nic", "network": "litebr0"}},
	}
	if err := RenderTemplates(layer, rootfs, TriggerCreate, tctx, shift); err != nil {
		t.Fatal(err)
	}
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(rootfs, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read("etc/hostname"); got != "web1\n" {
		t.Errorf("hostname %q", got)
	}
	// An existing file keeps its owner and mode.
	fi := lstat(t, filepath.Join(rootfs, "etc/hostname"))
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 100007 || st.Gid != 100008 || fi.Mode() != 0o600 {
		t.Errorf("hostname owner %d:%d mode %v", st.Uid, st.Gid, fi.Mode())
	}
	want := "create /etc/context web1 container x86_64 false false hello\r\n litebr0 fallback hello <&> unpriv"
	if got := read("etc/context"); got != want {
		t.Errorf("context:\n got %q\nwant %q", got, want)
	}
	// A new file and its parents belong to the container's root.
	for rel, mode := range map[string]os.FileMode{"var": os.ModeDir | 0o755, "var/lib/new/deep": os.ModeDir | 0o755, "var/lib/new/deep/file": 0o644} {
		fi := lstat(t, filepath.Join(rootfs, rel))
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 100000 || st.Gid != 100000 || fi.Mode() != mode {
			t.Errorf("%s: owner %d:%d mode %v", rel, st.Uid, st.Gid, fi.Mode())
		}
	}
	if got := read("etc/keep"); got != "mine\n" {
		t.Errorf("create_only file overwritten: %q", got)
	}
	if _, err := os.Lstat(filepath.Join(rootfs, "etc/start-only")); err == nil {
		t.Error("start template ran on create")
	}
	if err := RenderTemplates(layer, rootfs, TriggerStart, tctx, shift); err != nil {
		t.Fatal(err)
	}
	if got := read("etc/start-only"); got != "web1\n" {
		t.Errorf("start-only %q", got)
	}
}

// TestRenderTemplatesSymlinkEscape: the container controls its rootfs, so
// symlinks there must not lead writes out of it: they resolve as if the
// rootfs were "/".
func TestRenderTemplatesSymlinkEscape(t *testing.T) {
	requireRoot(t)
	cases := map[string]struct {
		target string
		setup  func(rootfs, outside string)
		// inRoot is where the write must land, relative to the rootfs
		// ("" when the render must fail instead).
		inRoot string
	}{
		"absolute file symlink, dangling in root": {target: "/etc/hostname",
			setup: func(rootfs, outside string) { os.Symlink(outside+"/victim", rootfs+"/etc/hostname") }},
		"absolute file symlink, resolved in root": {target: "/etc/hostname", inRoot: "OUTSIDE/victim",
			setup: func(rootfs, outside string) {
				os.Symlink(outside+"/victim", rootfs+"/etc/hostname")
				os.MkdirAll(rootfs+outside, 0o755)
				os.WriteFile(rootfs+outside+"/victim", nil, 0o644)
			}},
		"relative dir symlink": {target: "/etc/dir/victim",
			setup: func(rootfs, outside string) { os.Symlink("../../../../../../../.."+outside, rootfs+"/etc/dir") }},
		"relative dir symlink, resolved in root": {target: "/etc/dir/victim", inRoot: "OUTSIDE/victim",
			setup: func(rootfs, outside string) {
				os.Symlink("../../../../../../../.."+outside, rootfs+"/etc/dir")
				os.MkdirAll(rootfs+outside, 0o755)
			}},
		"dotdot target": {target: "/../../../../../../..OUTSIDE/victim", inRoot: "OUTSIDE/victim"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			outside := t.TempDir()
			victim := filepath.Join(outside, "victim")
			os.WriteFile(victim, []byte("safe"), 0o644)
			target := strings.ReplaceAll(c.target, "OUTSIDE", outside)
			meta := "templates:\n  " + target + ":\n    when: [create]\n    template: t.tpl\n"
			layer, rootfs := templateFixture(t, meta, map[string]string{"t.tpl": "pwned"})
			if c.setup != nil {
				c.setup(rootfs, outside)
			}
			err := RenderTemplates(layer, rootfs, TriggerCreate, TemplateContext{}, idmap.Map{UID: 100000, GID: 100000, Size: idmap.Size})
			if b, _ := os.ReadFile(victim); string(b) != "safe" {
				t.Fatalf("victim written through a symlink: %q", b)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 1 {
				t.Fatalf("outside has %d entries", len(entries))
			}
			if c.inRoot == "" {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			in := filepath.Join(rootfs, strings.ReplaceAll(c.inRoot, "OUTSIDE", outside))
			if b, _ := os.ReadFile(in); string(b) != "pwned" {
				t.Fatalf("%s = %q, want the rendered file inside the rootfs", in, b)
			}
		})
	}
}

func TestRenderTemplatesIncludeStaysInRootfs(t *testing.T) {
	requireRoot(t)
	meta := "architecture: x86_64\ncreation_date: 1\ntemplates:\n  /etc/out:\n    when: [create]\n    template: t.tpl\n"
	layer, rootfs := templateFixture(t, meta, map[string]string{"t.tpl": `{% include "../../../../etc/hostname" %}`})
	os.WriteFile(filepath.Join(rootfs, "etc/hostname"), []byte("container-file"), 0o644)
	if err := RenderTemplates(layer, rootfs, TriggerCreate, TemplateContext{}, idmap.Map{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(rootfs, "etc/out")); string(b) != "container-file" {
		t.Fatalf("include read %q, want the rootfs's file", b)
	}
	// ssi reads host files directly: it is banned.
	layer, rootfs = templateFixture(t, meta, map[string]string{"t.tpl": `{% ssi "/etc/hostname" %}`})
	err := RenderTemplates(layer, rootfs, TriggerCreate, TemplateContext{}, idmap.Map{})
	assertKind(t, err, ErrInvalid)
}

func TestRenderTemplatesBadInput(t *testing.T) {
	requireRoot(t)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("host secret"), 0o600)
	cases := map[string]struct {
		meta  string
		setup func(layer, rootfs string)
	}{
		"template name escapes": {meta: "templates:\n  /etc/x:\n    when: [create]\n    template: ../../../../../../.." + outside + "/secret\n"},
		"template is a symlink": {meta: "templates:\n  /etc/x:\n    when: [create]\n    template: link.tpl\n",
			setup: func(layer, _ string) {
				os.Symlink(filepath.Join(outside, "secret"), filepath.Join(layer, "templates/link.tpl"))
			}},
		"target is a fifo": {meta: "templates:\n  /etc/fifo:\n    when: [create]\n    template: t.tpl\n",
			setup: func(_, rootfs string) { syscall.Mkfifo(filepath.Join(rootfs, "etc/fifo"), 0o644) }},
		"bad syntax": {meta: "templates:\n  /etc/x:\n    when: [create]\n    template: bad.tpl\n"},
		"bad yaml":   {meta: "templates: [\n"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			layer, rootfs := templateFixture(t, c.meta, map[string]string{"t.tpl": "x", "bad.tpl": "{% if %}"})
			if c.setup != nil {
				c.setup(layer, rootfs)
			}
			err := RenderTemplates(layer, rootfs, TriggerCreate, TemplateContext{}, idmap.Map{})
			if err == nil {
				t.Fatal("no error")
			}
			if b, _ := os.ReadFile(filepath.Join(rootfs, "etc/x")); strings.Contains(string(b), "secret") {
				t.Fatal("host file leaked into the rootfs")
			}
		})
	}
	// No metadata.yaml: nothing to do.
	if err := RenderTemplates(t.TempDir(), t.TempDir(), TriggerCreate, TemplateContext{}, idmap.Map{}); err != nil {
		t.Fatal(err)
	}
}

func TestRenderTemplatesOverrides(t *testing.T) {
	requireRoot(t)
	meta := "templates:\n  /etc/x:\n    when: [copy]\n    template: t.tpl\n    uid: \"5\"\n    gid: \"6\"\n    mode: \"600\"\n"
	layer, rootfs := templateFixture(t, meta, map[string]string{"t.tpl": "{{ trigger }}"})
	if err := RenderTemplates(layer, rootfs, TriggerCopy, TemplateContext{}, idmap.Map{UID: 1000, GID: 2000, Size: idmap.Size}); err != nil {
		t.Fatal(err)
	}
	fi := lstat(t, filepath.Join(rootfs, "etc/x"))
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1005 || st.Gid != 2006 || fi.Mode() != 0o600 {
		t.Errorf("owner %d:%d mode %v", st.Uid, st.Gid, fi.Mode())
	}
	meta = strings.Replace(meta, `"600"`, `"999"`, 1)
	layer, rootfs = templateFixture(t, meta, map[string]string{"t.tpl": "x"})
	err := RenderTemplates(layer, rootfs, TriggerCopy, TemplateContext{}, idmap.Map{})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad mode: %v", err)
	}
}

// TestAuthorizedKeysTemplate renders the builder's authorized_keys template with and without
// the config key.
func TestAuthorizedKeysTemplate(t *testing.T) {
	requireRoot(t)
	r, _ := LookupRecipe("debian/12")
	meta, tpls := imageMetadata(r, time.Unix(1700000000, 0))
	data, err := yaml.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ keys, want string }{
		{"ssh-ed25519 AAAA one\nssh-ed25519 BBBB two\n", "ssh-ed25519 AAAA one\nssh-ed25519 BBBB two\n"},
		{"ssh-ed25519 AAAA one", "ssh-ed25519 AAAA one\n"},
		{"", ""},
	} {
		layer, rootfs := templateFixture(t, string(data), tpls)
		os.MkdirAll(filepath.Join(rootfs, "root/.ssh"), 0o700)
		cfg := map[string]string{}
		if c.keys != "" {
			cfg[SSHKeysKey] = c.keys
		}
		if err := RenderTemplates(layer, rootfs, TriggerCreate, TemplateContext{Name: "c1", Config: cfg}, idmap.Map{}); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(rootfs, "root/.ssh/authorized_keys")
		got, err := os.ReadFile(p)
		if err != nil || string(got) != c.want {
			t.Errorf("keys %q: authorized_keys %q %v, want %q", c.keys, got, err, c.want)
		}
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
			t.Errorf("authorized_keys mode %v", st.Mode())
		}
	}
}
