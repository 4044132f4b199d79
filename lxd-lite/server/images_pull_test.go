package server_test

import (
	"archive/tar"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lite/client/api"
	"lite/client/simplestreams"
	"lite/test/roottest"
)

// TestImagePullSimplestreams: POST /1.0/images with a simplestreams source downloads a split
// image from a local server, verifies it and records it with its aliases; a tampered file is
// refused and leaves nothing.
func TestImagePullSimplestreams(t *testing.T) {
	roottest.Require(t, "unpacking an image chowns its files")
	e := newEnv(t)
	meta := gzTar(t, tent{name: "metadata.yaml", body: srvMeta}, tent{name: "templates/hostname.tpl", body: "x"})
	root := gzTar(t, tent{name: "etc/", typ: tar.TypeDir}, tent{name: "etc/hostname", body: "h\n"})
	tree := t.TempDir()
	err := simplestreams.Write(tree, []simplestreams.Entry{{
		OS: "Test", Release: "one", ReleaseTitle: "1", Variant: "default", Arch: "amd64", Serial: "20240101_00:00",
		Aliases: []string{"test/1"}, Files: []string{writeTemp(t, "meta.tar.gz", meta), writeTemp(t, "root.tar.gz", root)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(tree)))
	defer srv.Close()
	body := map[string]any{
		"source":  map[string]string{"type": "image", "server": srv.URL, "protocol": "simplestreams", "alias": "test/1"},
		"aliases": []map[string]string{{"name": "pulled"}},
	}
	op := e.succeed("POST", "/1.0/images", body)
	fp := sha(meta, root)
	if op.Metadata["fingerprint"] != fp {
		t.Fatalf("pulled fingerprint %v, want %s", op.Metadata["fingerprint"], fp)
	}
	var a api.ImageAliasesEntry
	e.ok("GET", "/1.0/images/aliases/pulled", nil, &a)
	var img api.Image
	e.ok("GET", "/1.0/images/"+fp, nil, &img)
	if img.Properties["os"] != "Test" || img.Properties["serial"] != "20240101_00:00" {
		t.Errorf("pulled image properties %v", img.Properties)
	}
	e.fail("POST", "/1.0/images", body, 409) // the alias exists now
	body["aliases"] = nil
	src := body["source"].(map[string]string)
	src["alias"] = "nosuch/1"
	if msg := e.failOp("POST", "/1.0/images", body); !strings.Contains(msg, "not found") {
		t.Errorf("unknown alias: %q", msg)
	}
	src["protocol"] = "lxd"
	e.failOp("POST", "/1.0/images", body)

	// Tampered rootfs on a second server: refused, nothing stored.
	tree2 := t.TempDir()
	if err := simplestreams.Write(tree2, []simplestreams.Entry{{
		OS: "Test", Release: "two", Variant: "default", Arch: "amd64", Serial: "20240101_00:00",
		Aliases: []string{"test/2"}, Files: []string{writeTemp(t, "meta.tar.gz", meta), writeTemp(t, "root.tar.gz", gzTar(t, tent{name: "x", body: "1"}))},
	}}); err != nil {
		t.Fatal(err)
	}
	m, _ := filepath.Glob(filepath.Join(tree2, "images/test/two/amd64/default/*/root.tar.xz"))
	if len(m) != 1 {
		t.Fatalf("rootfs in tree: %v", m)
	}
	orig, _ := os.ReadFile(m[0])
	orig[len(orig)-1] ^= 0xff
	if err := os.WriteFile(m[0], orig, 0o644); err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(http.FileServer(http.Dir(tree2)))
	defer srv2.Close()
	msg := e.failOp("POST", "/1.0/images", map[string]any{"source": map[string]string{"type": "image", "server": srv2.URL, "protocol": "simplestreams", "alias": "test/2"}})
	if !strings.Contains(msg, "sha256") {
		t.Errorf("tampered pull: %q", msg)
	}
	ents, _ := os.ReadDir(e.store.Dir)
	if len(ents) != 1 {
		t.Errorf("store after the refused pull: %v", ents)
	}
}
