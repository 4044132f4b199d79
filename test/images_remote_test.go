package test

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"lite/client/simplestreams"
)

// TestImagesRemote: a simplestreams server on 127.0.0.1 serves the image lite built itself;
// `lite remote add`, `lite image copy lab:ALIAS local:` and `lite launch lab:ALIAS NAME` pull
// it through the daemon (verified against the published sha256), and the container boots.
func TestImagesRemote(t *testing.T) {
	base := exportBase(t, sharedWeb1(t))
	// A daemon of its own, with no image yet, so the pull really downloads.
	d := startDaemon(t)
	isolatedRemotes(t)
	deleteImageOnCleanup(t, d, "img-remote")
	deleteOnCleanup(t, d, "imgremote")
	fp := strings.TrimSuffix(base[strings.LastIndex(base, "/")+1:], ".tar.gz")

	url := serveImage(t, base, "litetest/12")

	mustLite(t, d, "remote", "add", "lab", url, "--protocol", "simplestreams")
	if out := mustLite(t, d, "remote", "list", "--format", "csv"); !strings.Contains(out, "lab,"+url+",simplestreams") {
		t.Errorf("lite remote list:\n%s", out)
	}
	_, stderr, code := d.Lite("remote", "add", "lab", url)
	oneLineError(t, "lite remote add (duplicate)", stderr, code, `already exists`)
	_, stderr, code = d.Lite("launch", "nosuch:litetest/12", "imgremote")
	oneLineError(t, "lite launch nosuch:...", stderr, code, `remote "nosuch" not found`)
	_, stderr, code = d.Lite("image", "copy", "lab:nosuch/1", "local:")
	oneLineError(t, "lite image copy lab:nosuch/1", stderr, code, `not found`)

	out := mustLite(t, d, "image", "copy", "lab:litetest/12", "local:", "--alias", "img-remote")
	if !strings.Contains(out, fp) {
		t.Errorf("lite image copy: %q, want fingerprint %s", out, fp)
	}
	mustLite(t, d, "launch", "lab:litetest/12", "imgremote")
	waitRunning(t, d, "imgremote")
	requireStatus(t, d, "imgremote", "RUNNING")
	if out := mustLite(t, d, "image", "list", "--format", "csv"); strings.Count(out, fp[:12]) != 1 {
		t.Errorf("after copy and launch, the image should be stored once:\n%s", out)
	}
	mustLite(t, d, "remote", "remove", "lab")
	_, stderr, code = d.Lite("launch", "lab:litetest/12", "imgremote2")
	oneLineError(t, "lite launch after remote remove", stderr, code, `not found`)
}

// serveDir serves dir over HTTP on loopback until the test ends and returns its URL.
func serveDir(t *testing.T, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir))}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// serveImage serves the unified image tarball base as a simplestreams server with one product
// (alias) and returns the server's URL.
func serveImage(t *testing.T, base, alias string) string {
	t.Helper()
	tree := t.TempDir()
	err := simplestreams.Write(tree, []simplestreams.Entry{{
		OS: "Litetest", Release: "bookworm", ReleaseTitle: "12", Variant: "default", Arch: "amd64",
		Serial: time.Now().UTC().Format("20060102_15:04"), Aliases: []string{alias}, Files: []string{base},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return serveDir(t, tree)
}
