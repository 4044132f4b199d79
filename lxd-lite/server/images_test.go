package server_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"lite/client"
	"lite/client/api"
	"lite/test/roottest"
)

// tent is one entry of a tarball a test crafts.
type tent struct {
	name, body, link string
	typ              byte
}

// gzTar builds a gzip-compressed tarball of the entries.
func gzTar(t *testing.T, ents ...tent) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, ModTime: time.Unix(1700000000, 0)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeDir {
			h.Mode = 0o755
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const srvMeta = "architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: Test\n  description: test image\n" +
	"templates:\n  /etc/hostname:\n    when: [create]\n    template: hostname.tpl\n"

// unified is a small valid unified image.
func unified(t *testing.T, extra string) []byte {
	return gzTar(t,
		tent{name: "metadata.yaml", body: srvMeta},
		tent{name: "templates/", typ: tar.TypeDir},
		tent{name: "templates/hostname.tpl", body: "{{ instance.name }}\n"},
		tent{name: "rootfs/", typ: tar.TypeDir},
		tent{name: "rootfs/etc/", typ: tar.TypeDir},
		tent{name: "rootfs/etc/os-release", body: "ID=test\n" + extra},
	)
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// upload imports files through the real client and returns the final operation.
func (e *env) upload(up client.ImageUpload) (api.Operation, error) {
	e.t.Helper()
	c, err := client.Connect(e.socket)
	if err != nil {
		e.t.Fatal(err)
	}
	op, err := c.CreateImage(e.t.Context(), up)
	if err != nil {
		return api.Operation{}, err
	}
	err = op.Wait(e.t.Context())
	return op.Get(), err
}

// storeEntries lists what is in the image store and the daemon's tmp dir.
func (e *env) storeEntries() []string {
	var out []string
	for _, d := range []string{e.store.Dir, filepath.Join(e.dir, "tmp")} {
		ents, _ := os.ReadDir(d)
		for _, x := range ents {
			out = append(out, filepath.Join(d, x.Name()))
		}
	}
	return out
}

func TestImageUploadExportRoundTrip(t *testing.T) {
	roottest.Require(t, "unpacking an image chowns its files")
	ctx := t.Context()
	e := newEnv(t)
	data := unified(t, "")
	op, err := e.upload(client.ImageUpload{Meta: writeTemp(t, "img.tar.gz", data), Properties: map[string]string{"label": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	fp := sha(data)
	if op.Metadata["fingerprint"] != fp || op.Metadata["size"] != strconv.Itoa(len(data)) {
		t.Fatalf("op metadata %v, want fingerprint %s size %d", op.Metadata, fp, len(data))
	}
	var img api.Image
	e.ok("GET", "/1.0/images/"+fp[:8], nil, &img)
	if img.Fingerprint != fp || img.Properties["os"] != "Test" || img.Properties["label"] != "x" || img.Filename != "img.tar.gz" {
		t.Errorf("image %+v", img)
	}
	c, _ := client.Connect(e.socket)
	out := t.TempDir()
	files, err := c.ExportImage(ctx, fp, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || filepath.Base(files[0]) != fp+".tar.gz" {
		t.Fatalf("exported %v", files)
	}
	got, _ := os.ReadFile(files[0])
	if !bytes.Equal(got, data) {
		t.Error("export differs from the uploaded bytes")
	}
	// A target that is not a directory is the file name; LXD's client adds the extension.
	files, err = c.ExportImage(ctx, fp, filepath.Join(out, "named"))
	if err != nil || len(files) != 1 || files[0] != filepath.Join(out, "named.tar.gz") {
		t.Fatalf("export to a file name: %v %v", files, err)
	}
	if got, _ := os.ReadFile(files[0]); !bytes.Equal(got, data) {
		t.Error("export to a file name differs from the uploaded bytes")
	}
	// Same bytes again: refused as a duplicate.
	if _, err := e.upload(client.ImageUpload{Meta: writeTemp(t, "img.tar.gz", data)}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate upload: %v", err)
	}
	// PATCH adds a property, PUT replaces them.
	e.ok("PATCH", "/1.0/images/"+fp, map[string]any{"properties": map[string]string{"extra": "1"}}, nil)
	e.ok("GET", "/1.0/images/"+fp, nil, &img)
	if img.Properties["extra"] != "1" || img.Properties["os"] != "Test" {
		t.Errorf("after PATCH: %v", img.Properties)
	}
	e.ok("PUT", "/1.0/images/"+fp, map[string]any{"properties": map[string]string{"only": "1"}, "public": true}, nil)
	var put api.Image // fresh: decoding into a used map would merge
	e.ok("GET", "/1.0/images/"+fp, nil, &put)
	if len(put.Properties) != 1 || !put.Public {
		t.Errorf("after PUT: %+v", put)
	}
	e.succeed("DELETE", "/1.0/images/"+fp, nil)
	e.fail("GET", "/1.0/images/"+fp, nil, 404)
	if left := e.storeEntries(); len(left) != 0 {
		t.Errorf("left after delete: %v", left)
	}
}

func TestImageSplitUploadAndExport(t *testing.T) {
	roottest.Require(t, "unpacking an image chowns its files")
	ctx := t.Context()
	e := newEnv(t)
	meta := gzTar(t, tent{name: "metadata.yaml", body: srvMeta}, tent{name: "templates/hostname.tpl", body: "x"})
	root := gzTar(t, tent{name: "./etc/", typ: tar.TypeDir}, tent{name: "./etc/hostname", body: "h\n"})
	op, err := e.upload(client.ImageUpload{Meta: writeTemp(t, "meta.tar.gz", meta), Rootfs: writeTemp(t, "root.tar.gz", root)})
	if err != nil {
		t.Fatal(err)
	}
	fp := sha(meta, root)
	if op.Metadata["fingerprint"] != fp {
		t.Fatalf("fingerprint %v, want sha256(meta||rootfs) %s", op.Metadata["fingerprint"], fp)
	}
	layer := filepath.Join(e.store.Dir, fp, "layers", "0-0", "rootfs", "etc", "hostname")
	if b, err := os.ReadFile(layer); err != nil || string(b) != "h\n" {
		t.Errorf("split rootfs not unpacked under rootfs/: %q %v", b, err)
	}
	c, _ := client.Connect(e.socket)
	files, err := c.ExportImage(ctx, fp, t.TempDir())
	if err != nil || len(files) != 2 {
		t.Fatalf("export: %v %v", files, err)
	}
	m, _ := os.ReadFile(files[0])
	r, _ := os.ReadFile(files[1])
	if sha(m, r) != fp || filepath.Base(files[0]) != "meta-"+fp+".tar.gz" || filepath.Base(files[1]) != fp+".tar.gz" {
		t.Errorf("split export %v does not give back the fingerprint", files)
	}
	// To a file name: the metadata as TARGET, the rootfs as TARGET.root, as LXD's client does.
	target := filepath.Join(t.TempDir(), "out")
	files, err = c.ExportImage(ctx, fp, target)
	if err != nil || len(files) != 2 || files[0] != target || files[1] != target+".root" {
		t.Fatalf("split export to a file name: %v %v", files, err)
	}
	m, _ = os.ReadFile(files[0])
	r, _ = os.ReadFile(files[1])
	if sha(m, r) != fp {
		t.Errorf("split export to %s does not give back the fingerprint", target)
	}
}

func TestImageAliasesEndpoints(t *testing.T) {
	roottest.Require(t, "unpacking an image chowns its files")
	e := newEnv(t)
	data := unified(t, "")
	if _, err := e.upload(client.ImageUpload{Meta: writeTemp(t, "i.tar.gz", data)}); err != nil {
		t.Fatal(err)
	}
	fp := sha(data)
	e.ok("POST", "/1.0/images/aliases", map[string]string{"name": "my/img", "target": fp[:10], "description": "d"}, nil)
	var a api.ImageAliasesEntry
	e.ok("GET", "/1.0/images/aliases/my%2Fimg", nil, &a)
	if a.Target != fp || a.Description != "d" {
		t.Errorf("alias %+v", a)
	}
	e.fail("POST", "/1.0/images/aliases", map[string]string{"name": "my/img", "target": fp}, 409)
	e.fail("POST", "/1.0/images/aliases", map[string]string{"name": "x", "target": "ffff"}, 404)
	for _, bad := range []string{"a:b", "../x", "../../../../etc/passwd", "/x", "a//b", "x/", "a/./b", "a\nb", ""} {
		e.fail("POST", "/1.0/images/aliases", map[string]string{"name": bad, "target": fp}, 400)
	}
	e.ok("PATCH", "/1.0/images/aliases/my%2Fimg", map[string]string{"description": "e"}, nil)
	e.ok("GET", "/1.0/images/aliases/my%2Fimg", nil, &a)
	if a.Description != "e" || a.Target != fp {
		t.Errorf("after PATCH %+v", a)
	}
	e.ok("PUT", "/1.0/images/aliases/my%2Fimg", map[string]string{"target": fp}, nil)
	e.ok("POST", "/1.0/images/aliases/my%2Fimg", map[string]string{"name": "renamed"}, nil)
	e.fail("GET", "/1.0/images/aliases/my%2Fimg", nil, 404)
	e.ok("GET", "/1.0/images/aliases/renamed", nil, &a)
	e.ok("POST", "/1.0/images/aliases", map[string]string{"name": "other", "target": fp}, nil)
	e.fail("POST", "/1.0/images/aliases/renamed", map[string]string{"name": "other"}, 409)
	e.fail("POST", "/1.0/images/aliases/renamed", map[string]string{"name": "../other"}, 400)
	e.ok("DELETE", "/1.0/images/aliases/renamed", nil, nil)
	e.fail("DELETE", "/1.0/images/aliases/renamed", nil, 404)
}

func TestImageDeleteInUseRefused(t *testing.T) {
	roottest.Require(t, "unpacking an image chowns its files")
	e := newEnv(t)
	data := unified(t, "")
	if _, err := e.upload(client.ImageUpload{Meta: writeTemp(t, "i.tar.gz", data)}); err != nil {
		t.Fatal(err)
	}
	fp := sha(data)
	e.succeed("POST", "/1.0/instances", map[string]any{"name": "u1", "source": map[string]string{"type": "image", "fingerprint": fp}})
	msg := e.fail("DELETE", "/1.0/images/"+fp, nil, 409)
	if !strings.Contains(msg, "u1") {
		t.Errorf("refusal %q does not name the instance", msg)
	}
	e.succeed("DELETE", "/1.0/instances/u1", nil)
	e.succeed("DELETE", "/1.0/images/"+fp, nil)
}

// rootDir is the rootfs directory entry of a test image.
var rootDir = tent{name: "rootfs/", typ: tar.TypeDir}

// yamlBomb is a "billion laughs" metadata.yaml: nine levels of nine aliases each.
var yamlBomb = func() string {
	var b strings.Builder
	b.WriteString("architecture: x86_64\ncreation_date: 1\nproperties:\n  a0: &a0 \"lol\"\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "  a%d: &a%d [", i, i)
		for j := 0; j < 9; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}()

// foreignArch is an architecture this host cannot run.
func foreignArch() string {
	if runtime.GOARCH == "s390x" {
		return "x86_64"
	}
	return "s390x"
}

// TestImageHostileUploads crafts each kind of bad image and checks it is refused with a
// clear error and leaves nothing in the store or the daemon's tmp dir.
func TestImageHostileUploads(t *testing.T) {
	roottest.Require(t, "unpacking an image chowns its files")
	e := newEnv(t)
	meta := tent{name: "metadata.yaml", body: srvMeta}
	tpl := tent{name: "templates/hostname.tpl", body: "x"}
	good := unified(t, "")
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"absolute path", "absolute", gzTar(t, meta, tpl, tent{name: "/rootfs/etc/x", body: "x"})},
		{"dotdot", "'..'", gzTar(t, meta, tpl, tent{name: "rootfs/../../x", body: "x"})},
		{"symlink write-through", "symlink", gzTar(t, meta, tpl, tent{name: "rootfs/l", link: "/tmp", typ: tar.TypeSymlink}, tent{name: "rootfs/l/evil", body: "x"})},
		{"hardlink outside", "hard link", gzTar(t, meta, tpl, tent{name: "rootfs/h", link: "/etc/passwd", typ: tar.TypeLink})},
		{"hardlink dotdot", "'..'", gzTar(t, meta, tpl, tent{name: "rootfs/h", link: "../../etc/passwd", typ: tar.TypeLink})},
		{"no metadata", "no metadata.yaml", gzTar(t, tent{name: "rootfs/x", body: "x"})},
		{"bad metadata", "metadata.yaml", gzTar(t, tent{name: "metadata.yaml", body: "architecture: [\n"})},
		{"no creation date", "creation_date", gzTar(t, tent{name: "metadata.yaml", body: "architecture: x86_64\n"})},
		{"template escapes dir", "template", gzTar(t, tent{name: "metadata.yaml", body: strings.Replace(srvMeta, "hostname.tpl", "../../etc/passwd", 1)})},
		{"template target escapes", "template target", gzTar(t, tent{name: "metadata.yaml", body: strings.Replace(srvMeta, "/etc/hostname", "/../../../etc/shadow", 1)}, tpl)},
		{"template file missing", "template", gzTar(t, meta, rootDir)},
		{"template symlink out", "template", gzTar(t, meta, rootDir, tent{name: "templates/hostname.tpl", link: "/etc/passwd", typ: tar.TypeSymlink})},
		{"no rootfs", "no rootfs", gzTar(t, meta, tpl)},
		{"rootfs a file", "rootfs is not a directory", gzTar(t, meta, tpl, tent{name: "rootfs", body: "x"})},
		{"rootfs a symlink", "rootfs", gzTar(t, meta, tpl, tent{name: "rootfs", link: "/", typ: tar.TypeSymlink})},
		{"yaml alias bomb", "aliases are not allowed", gzTar(t, tent{name: "metadata.yaml", body: yamlBomb}, tpl, rootDir)},
		{"yaml anchor", "aliases are not allowed", gzTar(t, tent{name: "metadata.yaml", body: "architecture: &a x86_64\ncreation_date: 1\n"}, tpl, rootDir)},
		{"foreign architecture", "Requested architecture isn't supported by this host", gzTar(t, tent{name: "metadata.yaml", body: strings.Replace(srvMeta, "x86_64", foreignArch(), 1)}, tpl, rootDir)},
		{"truncated", "", good[:len(good)/2]},
		{"garbage", "unknown image file format", []byte(strings.Repeat("garbage!", 100))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.upload(client.ImageUpload{Meta: writeTemp(t, "bad.tar.gz", tc.data)})
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if left := e.storeEntries(); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
			var list []string
			e.ok("GET", "/1.0/images", nil, &list)
			if len(list) != 1 { // the harness's own debian/12 row
				t.Errorf("images after refusal: %v", list)
			}
		})
	}
	if _, err := os.Stat("/tmp/evil"); !errors.Is(err, os.ErrNotExist) {
		t.Error("/tmp/evil was written through a symlink")
	}
}

// TestImageUploadHeaders: X-LXD-fingerprint must match what was uploaded, and a split upload
// needs its parts in order.
func TestImageUploadHeaders(t *testing.T) {
	e := newEnv(t)
	data := unified(t, "")
	req, _ := http.NewRequest("POST", "http://unix.socket/1.0/images", bytes.NewReader(data))
	req.Header.Set("X-LXD-fingerprint", strings.Repeat("a", 64))
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var env api.Response
	_ = json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	var op api.Operation
	if err := json.Unmarshal(env.Metadata, &op); err != nil || op.ID == "" {
		t.Fatalf("upload reply %+v", env)
	}
	if got := e.wait(op); got.StatusCode != api.Failure || !strings.Contains(got.Err, "fingerprint mismatch") {
		t.Errorf("fingerprint mismatch: %s %q", got.Status, got.Err)
	}
	if left := e.storeEntries(); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	// A multipart upload whose first part is not "metadata" is refused before any operation.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("rootfs", "r.tar.gz")
	w.Write(data)
	mw.Close()
	req, _ = http.NewRequest("POST", "http://unix.socket/1.0/images", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err = e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("split upload with parts out of order: HTTP %d", resp.StatusCode)
	}
	if left := e.storeEntries(); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestImageDeviceNodesSkipped: device nodes in an image are not created (an unprivileged
// container cannot use them, and liblxc makes /dev); the image itself is fine, since
// debootstrap'd and LXD images carry them.
func TestImageDeviceNodesSkipped(t *testing.T) {
	roottest.Require(t, "unpacking an image chowns its files")
	e := newEnv(t)
	data := gzTar(t, tent{name: "metadata.yaml", body: srvMeta}, tent{name: "templates/hostname.tpl", body: "x"},
		tent{name: "rootfs/dev/", typ: tar.TypeDir}, tent{name: "rootfs/dev/sda", typ: tar.TypeBlock},
		tent{name: "rootfs/dev/mem", typ: tar.TypeChar})
	if _, err := e.upload(client.ImageUpload{Meta: writeTemp(t, "dev.tar.gz", data)}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"sda", "mem"} {
		if _, err := os.Lstat(filepath.Join(e.store.Dir, sha(data), "layers", "0-0", "rootfs", "dev", n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("device node %s was created: %v", n, err)
		}
	}
}

// TestStartRendersTemplates: every start renders the start templates; a trigger recorded by a
// copy or rename (volatile.apply_template) is rendered first, once, and cleared.
func TestStartRendersTemplates(t *testing.T) {
	e := newEnv(t)
	e.succeed("POST", "/1.0/instances", map[string]any{"name": "t1", "source": map[string]string{"type": "image", "alias": "debian/12"}})
	if err := e.db.SetInstanceConfig(t.Context(), "t1", map[string]string{"volatile.apply_template": "copy"}); err != nil {
		t.Fatal(err)
	}
	start := map[string]any{"action": "start", "timeout": -1}
	stop := map[string]any{"action": "stop", "timeout": -1, "force": true}
	e.succeed("PUT", "/1.0/instances/t1/state", start)
	e.succeed("PUT", "/1.0/instances/t1/state", stop)
	e.succeed("PUT", "/1.0/instances/t1/state", start)
	var got []string
	for _, r := range e.imgs.Renders() {
		got = append(got, r.Trigger)
	}
	if strings.Join(got, ",") != "create,copy,start,start" {
		t.Errorf("render triggers %v, want create,copy,start,start", got)
	}
	inst, err := e.db.GetInstance(t.Context(), "t1")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := inst.Config["volatile.apply_template"]; ok {
		t.Errorf("volatile.apply_template still set: %q", v)
	}
	e.succeed("PUT", "/1.0/instances/t1/state", stop)
}

// TestImageSizeLimit: an upload that expands past the store's limit (lited --image-max-size)
// is refused and leaves nothing.
func TestImageSizeLimit(t *testing.T) {
	roottest.Require(t, "unpacking an image chowns its files")
	e := newEnv(t)
	e.store.MaxBytes = 4096
	data := unified(t, strings.Repeat("x", 8192))
	_, err := e.upload(client.ImageUpload{Meta: writeTemp(t, "big.tar.gz", data)})
	if err == nil || !strings.Contains(err.Error(), "over 4096 bytes") {
		t.Fatalf("oversized image: %v", err)
	}
	if left := e.storeEntries(); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}
