package server_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"lite/client/api"
)

// plantImageMetadata gives the fake image layer a metadata.yaml, one template, and a symlink
// template pointing at a file the test made outside the layer.
func plantImageMetadata(t *testing.T, e *env) string {
	t.Helper()
	layer := filepath.Join(e.dir, "images", testFP)
	if err := os.MkdirAll(filepath.Join(layer, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	meta := "architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: debian\ntemplates:\n  /etc/hostname:\n    when: [create, copy]\n    template: hostname.tpl\n"
	secret := filepath.Join(e.dir, "outside-secret")
	for p, c := range map[string]string{"metadata.yaml": meta, "templates/hostname.tpl": "{{ container.name }}\n", "../outside-secret": "SECRET"} {
		if err := os.WriteFile(filepath.Join(layer, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(secret, filepath.Join(layer, "templates", "evil.tpl")); err != nil {
		t.Fatal(err)
	}
	return layer
}

// rawReq sends a raw-body request and returns status and body.
func rawReq(t *testing.T, e *env, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://unix.socket"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestInstanceMetadataAPI(t *testing.T) {
	e := newEnv(t)
	layer := plantImageMetadata(t, e)
	e.create("m1", nil)
	for _, base := range []string{"/1.0/instances/m1", "/1.0/containers/m1"} {
		var md api.ImageMetadata
		e.ok("GET", base+"/metadata", nil, &md)
		if md.Architecture != "x86_64" || md.CreationDate != 1700000000 || md.Properties["os"] != "debian" || md.Templates["/etc/hostname"].Template != "hostname.tpl" {
			t.Fatalf("GET %s/metadata: %+v", base, md)
		}
	}
	md := api.ImageMetadata{Architecture: "x86_64", CreationDate: 5, Properties: map[string]string{"os": "mine"},
		Templates: map[string]api.ImageTemplate{"/etc/motd": {When: []string{"start"}, Template: "motd.tpl"}}}
	e.ok("PUT", "/1.0/instances/m1/metadata", md, nil)
	var got api.ImageMetadata
	e.ok("GET", "/1.0/instances/m1/metadata", nil, &got)
	if got.Properties["os"] != "mine" || len(got.Templates) != 1 || !reflect.DeepEqual(got.Templates["/etc/motd"].When, []string{"start"}) {
		t.Fatalf("after PUT: %+v", got)
	}
	e.ok("PATCH", "/1.0/instances/m1/metadata", map[string]any{"properties": map[string]string{"release": "12"}}, nil)
	e.ok("GET", "/1.0/instances/m1/metadata", nil, &got)
	if got.Properties["os"] != "mine" || got.Properties["release"] != "12" || got.CreationDate != 5 {
		t.Fatalf("after PATCH: %+v", got)
	}
	// The image layer is never written; the instance's copy is root-only.
	if b, _ := os.ReadFile(filepath.Join(layer, "metadata.yaml")); strings.Contains(string(b), "mine") {
		t.Errorf("image layer metadata.yaml was changed: %s", b)
	}
	own := filepath.Join(e.pool, "m1", "meta", "metadata.yaml")
	if st, err := os.Stat(own); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("instance metadata.yaml: %v %v, want mode 0600", st, err)
	}
	// A copy takes the instance's metadata along (as LXD's does).
	e.succeed("POST", "/1.0/instances", map[string]any{"name": "m2", "source": map[string]any{"type": "copy", "source": "m1"}})
	var copied api.ImageMetadata
	e.ok("GET", "/1.0/instances/m2/metadata", nil, &copied)
	if copied.Properties["os"] != "mine" {
		t.Errorf("copy's metadata: %+v", copied)
	}
	// Start renders from the instance's copy.
	e.start("m1")
	renders := e.imgs.Renders()
	if last := renders[len(renders)-1]; last.Trigger != "start" || last.LayerDir != filepath.Join(e.pool, "m1", "meta") {
		t.Errorf("start rendered from %q (%s), want the instance's meta dir", last.LayerDir, last.Trigger)
	}
}

func TestInstanceMetadataBadInput(t *testing.T) {
	e := newEnv(t)
	plantImageMetadata(t, e)
	e.create("m1", nil)
	tpl := func(target, name string, when ...string) api.ImageMetadata {
		return api.ImageMetadata{Templates: map[string]api.ImageTemplate{target: {When: when, Template: name}}}
	}
	for _, c := range []struct {
		body any
		want string
	}{
		{"{not json", "bad JSON"},
		{tpl("/etc/x", "../../etc/shadow", "start"), "plain file name"},
		{tpl("/etc/x", "a/b.tpl", "start"), "plain file name"},
		{tpl("/etc/x", "..", "start"), "plain file name"},
		{tpl("etc/x", "x.tpl", "start"), "absolute"},
		{tpl("/etc/x", "x.tpl", "boot"), "unknown \"when\" value \"boot\""},
		{tpl("/etc/x", "x.tpl"), "\"when\" is empty"},
		{map[string]any{"properties": map[string]string{"big": strings.Repeat("x", 1<<20)}}, "limit"},
	} {
		if msg := e.fail("PUT", "/1.0/instances/m1/metadata", c.body, 400); !strings.Contains(msg, c.want) {
			t.Errorf("PUT %v: %q, want %q", c.body, msg, c.want)
		}
	}
	// Nothing was half-made: the instance still reads its image's metadata.
	if _, err := os.Stat(filepath.Join(e.pool, "m1", "meta")); !os.IsNotExist(err) {
		t.Errorf("a refused PUT left the meta dir: %v", err)
	}
	e.fail("GET", "/1.0/instances/nope/metadata", nil, 404)
	e.fail("PUT", "/1.0/instances/nope/metadata", api.ImageMetadata{}, 404)
}

func TestInstanceTemplatesAPI(t *testing.T) {
	e := newEnv(t)
	layer := plantImageMetadata(t, e)
	e.create("m1", nil)
	var names []string
	e.ok("GET", "/1.0/instances/m1/metadata/templates", nil, &names)
	if !reflect.DeepEqual(names, []string{"hostname.tpl"}) { // the symlink is not a template
		t.Fatalf("templates: %v", names)
	}
	if st, body := rawReq(t, e, "GET", "/1.0/containers/m1/metadata/templates?path=hostname.tpl", ""); st != 200 || body != "{{ container.name }}\n" {
		t.Fatalf("GET hostname.tpl: %d %q", st, body)
	}
	if st, body := rawReq(t, e, "GET", "/1.0/instances/m1/metadata/templates?path=evil.tpl", ""); st == 200 || strings.Contains(body, "SECRET") {
		t.Fatalf("GET of a symlink template: %d %q", st, body)
	}
	if st, body := rawReq(t, e, "POST", "/1.0/instances/m1/metadata/templates?path=motd.tpl", "hello {{ container.name }}"); st != 200 {
		t.Fatalf("POST motd.tpl: %d %s", st, body)
	}
	if st, body := rawReq(t, e, "PUT", "/1.0/instances/m1/metadata/templates?path=motd.tpl", "v2"); st != 200 {
		t.Fatalf("PUT motd.tpl: %d %s", st, body)
	}
	if st, body := rawReq(t, e, "GET", "/1.0/instances/m1/metadata/templates?path=motd.tpl", ""); st != 200 || body != "v2" {
		t.Fatalf("GET motd.tpl: %d %q", st, body)
	}
	e.ok("GET", "/1.0/instances/m1/metadata/templates", nil, &names)
	if !reflect.DeepEqual(names, []string{"hostname.tpl", "motd.tpl"}) {
		t.Fatalf("templates after POST: %v", names)
	}
	if _, err := os.Stat(filepath.Join(layer, "templates", "motd.tpl")); !os.IsNotExist(err) {
		t.Errorf("POST wrote into the image layer: %v", err)
	}
	e.ok("DELETE", "/1.0/instances/m1/metadata/templates?path=motd.tpl", nil, nil)
	e.fail("DELETE", "/1.0/instances/m1/metadata/templates?path=motd.tpl", nil, 404)
	e.fail("GET", "/1.0/instances/m1/metadata/templates?path=motd.tpl", nil, 404)
	for _, bad := range []string{"../../../etc/passwd", "..", "a/b", "/etc/passwd"} {
		for _, m := range []string{"GET", "POST", "DELETE"} {
			if st, body := rawReq(t, e, m, "/1.0/instances/m1/metadata/templates?path="+q(bad), "x"); st != 400 || !strings.Contains(body, "plain file name") {
				t.Errorf("%s template %q: %d %s", m, bad, st, body)
			}
		}
	}
	if msg := e.fail("POST", "/1.0/instances/m1/metadata/templates", "x", 400); !strings.Contains(msg, "missing ?path=") {
		t.Errorf("POST without path: %q", msg)
	}
	if st, body := rawReq(t, e, "POST", "/1.0/instances/m1/metadata/templates?path=big.tpl", strings.Repeat("x", 1<<20+1)); st != 400 || !strings.Contains(body, "limit") {
		t.Errorf("oversize template: %d %s", st, body)
	}
	if _, err := os.Stat(filepath.Join(e.pool, "m1", "meta", "templates", "big.tpl")); !os.IsNotExist(err) {
		t.Errorf("oversize template was stored: %v", err)
	}
}
