package test

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// fpRe finds the fingerprint lite prints after an import or a publish.
var fpRe = regexp.MustCompile(`fingerprint: ([0-9a-f]{64})`)

// fileSHA returns the hex sha256 of a file.
func fileSHA(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// deleteImageOnCleanup deletes the images (by alias or fingerprint) when the test ends.
func deleteImageOnCleanup(t *testing.T, d *Daemon, names ...string) {
	t.Cleanup(func() {
		if !d.Running() {
			return
		}
		for _, n := range names {
			if _, _, code := d.Lite("image", "info", n); code != 0 {
				continue
			}
			if _, stderr, code := d.Lite("image", "delete", n); code != 0 {
				t.Errorf("cleanup: lite image delete %s: %s", n, stderr)
			}
		}
	})
}

// mustFingerprint extracts the fingerprint from lite's output.
func mustFingerprint(t *testing.T, out string) string {
	t.Helper()
	m := fpRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no fingerprint in %q", out)
	}
	return m[1]
}

// exportBase writes the shared daemon's debian/12 image into a temp dir and returns its path.
func exportBase(t *testing.T, d *Daemon) string {
	t.Helper()
	dir := t.TempDir()
	out := mustLite(t, d, "image", "export", "debian/12", dir)
	return strings.TrimSpace(out)
}

// TestImagesPublishExportImport: a stopped container is published (ownership shifted back to
// container ids), a container launched from the image boots systemd to running with the
// publisher's files and its own hostname (create templates), and export -> delete -> import
// gives back the same fingerprint.
func TestImagesPublishExportImport(t *testing.T) {
	d := sharedWeb1(t)
	deleteImageOnCleanup(t, d, "img-golden", "img-again")
	deleteOnCleanup(t, d, "imgsrc", "imgpub")
	mustLite(t, d, "launch", "debian/12", "imgsrc")
	waitRunning(t, d, "imgsrc")
	mustLite(t, d, "exec", "imgsrc", "--", "sh", "-c", "echo published > /root/marker && chown 1000:1000 /root/marker")
	mustLite(t, d, "stop", "imgsrc")
	start := time.Now()
	fp := mustFingerprint(t, mustLite(t, d, "publish", "imgsrc", "--alias", "img-golden"))
	t.Logf("publish took %s", time.Since(start).Round(time.Millisecond))
	mustLite(t, d, "delete", "imgsrc")

	start = time.Now()
	mustLite(t, d, "launch", "img-golden", "imgpub")
	waitRunning(t, d, "imgpub")
	t.Logf("launch from the published image to systemd running: %s", time.Since(start).Round(time.Millisecond))
	if out := mustLite(t, d, "exec", "imgpub", "--", "stat", "-c", "%u:%g %n", "/root/marker", "/etc/shadow"); out != "1000:1000 /root/marker\n0:42 /etc/shadow\n" {
		t.Errorf("owners inside the container launched from the published image: %q", out)
	}
	if out := mustLite(t, d, "exec", "imgpub", "--", "cat", "/etc/hostname", "/root/marker"); out != "imgpub\npublished\n" {
		t.Errorf("hostname template / marker: %q", out)
	}
	if pid := initPid(t, d, "imgpub"); procUID(t, pid) < idmapBase(t, d, "imgpub") {
		t.Error("the container from the published image is not unprivileged")
	}

	dir := t.TempDir()
	files := strings.Fields(mustLite(t, d, "image", "export", "img-golden", dir))
	if len(files) != 1 || fileSHA(t, files[0]) != fp || filepath.Base(files[0]) != fp+".tar.gz" {
		t.Fatalf("export gave %v, want one file %s.tar.gz with that sha256", files, fp)
	}
	// In use: refused with the user's name in the message.
	_, stderr, code := d.Lite("image", "delete", "img-golden")
	oneLineError(t, "lite image delete img-golden (in use)", stderr, code, `imgpub`)
	mustLite(t, d, "delete", "--force", "imgpub")
	mustLite(t, d, "image", "delete", "img-golden")
	if _, err := os.Stat(filepath.Join(d.Dir, "images", fp)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("image files remain after delete: %v", err)
	}
	got := mustFingerprint(t, mustLite(t, d, "image", "import", files[0], "--alias", "img-again"))
	if got != fp {
		t.Errorf("re-import gave fingerprint %s, want %s", got, fp)
	}
	// The alias is taken now: a second import is refused before uploading anything.
	_, stderr, code = d.Lite("image", "import", files[0], "--alias", "img-again")
	oneLineError(t, "lite image import (alias exists)", stderr, code, `already exists`)
	mustLite(t, d, "image", "alias", "rename", "img-again", "img-golden")
	if out := mustLite(t, d, "image", "alias", "list", "--format", "csv"); !strings.Contains(out, "img-golden,"+fp[:12]) {
		t.Errorf("alias list after rename:\n%s", out)
	}
}

// rewriteImage copies a unified image, replacing metadata.yaml and adding template files.
func rewriteImage(t *testing.T, src, dst, meta string, tpls map[string]string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	zw, _ := gzip.NewWriterLevel(out, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	write := func(name, body string) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Now(), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, body); err != nil {
			t.Fatal(err)
		}
	}
	write("metadata.yaml", meta)
	for name, body := range tpls {
		write("templates/"+name, body)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name == "metadata.yaml" || strings.HasPrefix(hdr.Name, "templates") {
			continue
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestImagesTemplates: an image with create and start templates renders them with LXD's
// context (name, trigger, config_get) on create and again on every start.
func TestImagesTemplates(t *testing.T) {
	d := sharedWeb1(t)
	deleteImageOnCleanup(t, d, "img-tpl")
	deleteOnCleanup(t, d, "imgtpl")
	meta := fmt.Sprintf(`architecture: x86_64
creation_date: %d
properties:
  description: lite template test
templates:
  /etc/hostname:
    when: [create, copy, rename]
    template: hostname.tpl
  /etc/lite-create:
    when: [create]
    template: create.tpl
  /etc/lite-start:
    when: [start]
    template: start.tpl
    properties:
      greeting: hello
`, time.Now().Unix())
	img := filepath.Join(t.TempDir(), "tpl.tar.gz")
	rewriteImage(t, exportBase(t, d), img, meta, map[string]string{
		"hostname.tpl": "{{ container.name }}\n",
		"create.tpl":   "{{ trigger }} {{ instance.name }} {{ config_get(\"user.color\", \"none\") }}\n",
		"start.tpl":    "{{ trigger }} {{ properties.greeting }} {{ config_get(\"user.color\", \"none\") }} {{ path }}\n",
	})
	mustLite(t, d, "image", "import", img, "--alias", "img-tpl")
	mustLite(t, d, "launch", "img-tpl", "imgtpl", "-c", "user.color=blue")
	waitRunning(t, d, "imgtpl")
	out := mustLite(t, d, "exec", "imgtpl", "--", "cat", "/etc/hostname", "/etc/lite-create", "/etc/lite-start")
	if want := "imgtpl\ncreate imgtpl blue\nstart hello blue /etc/lite-start\n"; out != want {
		t.Errorf("rendered templates:\n%q\nwant\n%q", out, want)
	}
	// Start templates run on every start; create ones only once.
	mustLite(t, d, "exec", "imgtpl", "--", "sh", "-c", "echo changed > /etc/lite-start; echo changed > /etc/lite-create")
	mustLite(t, d, "restart", "imgtpl")
	waitRunning(t, d, "imgtpl")
	out = mustLite(t, d, "exec", "imgtpl", "--", "cat", "/etc/lite-create", "/etc/lite-start")
	if want := "changed\nstart hello blue /etc/lite-start\n"; out != want {
		t.Errorf("after restart:\n%q\nwant\n%q", out, want)
	}
}

// TestImagesHostileImport: a crafted image that writes through a symlink is refused by the
// CLI with one error line and leaves nothing in the store, the daemon's tmp dir or the host.
func TestImagesHostileImport(t *testing.T) {
	d := sharedDaemon(t)
	before := storeEntries(t, d)
	bad := filepath.Join(t.TempDir(), "bad.tar.gz")
	f, err := os.Create(bad)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	ents := []tar.Header{
		{Name: "metadata.yaml", Typeflag: tar.TypeReg, Size: int64(len("architecture: x86_64\ncreation_date: 1700000000\n"))},
		{Name: "rootfs/escape", Typeflag: tar.TypeSymlink, Linkname: "/tmp"},
		{Name: "rootfs/escape/lite-e2e-evil", Typeflag: tar.TypeReg, Size: 1},
	}
	bodies := []string{"architecture: x86_64\ncreation_date: 1700000000\n", "", "x"}
	for i := range ents {
		ents[i].Mode = 0o644
		if err := tw.WriteHeader(&ents[i]); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, bodies[i])
	}
	tw.Close()
	zw.Close()
	f.Close()
	_, stderr, code := d.Lite("image", "import", bad, "--alias", "img-evil")
	oneLineError(t, "lite image import (symlink escape)", stderr, code, `symlink`)
	if _, err := os.Lstat("/tmp/lite-e2e-evil"); err == nil {
		os.Remove("/tmp/lite-e2e-evil")
		t.Error("the import wrote through the symlink onto the host")
	}
	if after := storeEntries(t, d); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("store changed: before %v after %v", before, after)
	}
	if _, _, code := d.Lite("image", "info", "img-evil"); code == 0 {
		t.Error("the refused image is listed")
	}
}

// storeEntries lists the image store and the daemon's tmp dir.
func storeEntries(t *testing.T, d *Daemon) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"images", "tmp"} {
		ents, err := os.ReadDir(filepath.Join(d.Dir, sub))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for _, e := range ents {
			out = append(out, sub+"/"+e.Name())
		}
	}
	return out
}
