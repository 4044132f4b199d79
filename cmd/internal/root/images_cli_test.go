package root

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
)

// fakeImages is a minimal image API on a unix socket for the image commands' tests.
type fakeImages struct {
	mu       sync.Mutex
	uploads  []map[string]string // part name (or "body") -> content
	aliases  []api.ImageAliasesPost
	renamed  string
	sources  []api.ImagesPost
	socket   string
	exported map[string]string
}

const cliFP = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"

func newFakeImages(t *testing.T) *fakeImages {
	t.Helper()
	dir, err := os.MkdirTemp("", "lite")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	f := &fakeImages{socket: filepath.Join(dir, "unix.socket")}
	ln, err := net.Listen("unix", f.socket)
	if err != nil {
		t.Fatal(err)
	}
	reply := func(w http.ResponseWriter, status int, typ api.ResponseType, md any) {
		raw, _ := json.Marshal(md)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(api.Response{Type: typ, Metadata: raw, StatusCode: 200})
	}
	notFound := func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(api.Response{Type: api.ErrorResponse, Error: "not found", ErrorCode: 404})
	}
	op := func(w http.ResponseWriter) {
		reply(w, http.StatusAccepted, api.AsyncResponse, api.Operation{ID: "op1", StatusCode: api.Running})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /1.0/events", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	mux.HandleFunc("GET /1.0/operations/op1/wait", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, api.SyncResponse, api.Operation{ID: "op1", StatusCode: api.Success,
			Metadata: map[string]any{"fingerprint": cliFP, "size": "10"}})
	})
	mux.HandleFunc("POST /1.0/images", func(w http.ResponseWriter, r *http.Request) {
		ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		got := map[string]string{"content-type": ct, "filename": r.Header.Get("X-LXD-filename")}
		switch ct {
		case "application/json":
			var req api.ImagesPost
			_ = json.NewDecoder(r.Body).Decode(&req)
			f.mu.Lock()
			f.sources = append(f.sources, req)
			f.mu.Unlock()
		case "multipart/form-data":
			mr := multipart.NewReader(r.Body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err != nil {
					break
				}
				b, _ := io.ReadAll(p)
				got[p.FormName()] = string(b)
			}
		default:
			b, _ := io.ReadAll(r.Body)
			got["body"] = string(b)
		}
		f.mu.Lock()
		f.uploads = append(f.uploads, got)
		f.mu.Unlock()
		op(w)
	})
	mux.HandleFunc("GET /1.0/images/aliases/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") == "taken" || r.PathValue("name") == "my/img" {
			reply(w, 200, api.SyncResponse, api.ImageAliasesEntry{Name: r.PathValue("name"), Target: cliFP})
			return
		}
		notFound(w)
	})
	mux.HandleFunc("POST /1.0/images/aliases", func(w http.ResponseWriter, r *http.Request) {
		var a api.ImageAliasesPost
		_ = json.NewDecoder(r.Body).Decode(&a)
		f.mu.Lock()
		f.aliases = append(f.aliases, a)
		f.mu.Unlock()
		reply(w, 201, api.SyncResponse, map[string]any{})
	})
	mux.HandleFunc("POST /1.0/images/aliases/{name}", func(w http.ResponseWriter, r *http.Request) {
		var a api.ImageAliasesEntryPost
		_ = json.NewDecoder(r.Body).Decode(&a)
		f.mu.Lock()
		f.renamed = r.PathValue("name") + "->" + a.Name
		f.mu.Unlock()
		reply(w, 201, api.SyncResponse, map[string]any{})
	})
	mux.HandleFunc("GET /1.0/images/{fp}", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(cliFP, r.PathValue("fp")) {
			notFound(w)
			return
		}
		reply(w, 200, api.SyncResponse, api.Image{Fingerprint: cliFP})
	})
	mux.HandleFunc("GET /1.0/images/{fp}/{sub}", func(w http.ResponseWriter, r *http.Request) {
		mw := multipart.NewWriter(w)
		w.Header().Set("Content-Type", mw.FormDataContentType())
		for _, p := range []struct{ field, name, body string }{{"metadata", "meta-" + cliFP + ".tar.xz", "M"}, {"rootfs", cliFP + ".squashfs", "R"}} {
			pw, _ := mw.CreateFormFile(p.field, p.name)
			fmt.Fprint(pw, p.body)
		}
		_ = mw.Close()
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return f
}

func (f *fakeImages) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ios, stdout, stderr := cli.TestIO("")
	code := Main(context.Background(), append([]string{"--socket", f.socket}, args...), ios, client.Connect)
	return stdout.String(), stderr.String(), code
}

func TestImageImportCommands(t *testing.T) {
	f := newFakeImages(t)
	dir := t.TempDir()
	meta, root := filepath.Join(dir, "meta.tar.xz"), filepath.Join(dir, "root.squashfs")
	os.WriteFile(meta, []byte("META"), 0o644)
	os.WriteFile(root, []byte("ROOT"), 0o644)

	out, stderr, code := f.run(t, "image", "import", meta, root, "--alias", "a1", "--alias", "a2")
	if code != 0 || !strings.Contains(out, cliFP) {
		t.Fatalf("split import: exit %d %q %q", code, out, stderr)
	}
	up := f.uploads[0]
	if up["content-type"] != "multipart/form-data" || up["metadata"] != "META" || up["rootfs"] != "ROOT" || up["filename"] != "meta.tar.xz" {
		t.Errorf("split upload %v", up)
	}
	if len(f.aliases) != 2 || f.aliases[0].Name != "a1" || f.aliases[1].Target != cliFP {
		t.Errorf("aliases %+v", f.aliases)
	}
	if _, _, code := f.run(t, "image", "import", meta); code != 0 || f.uploads[1]["body"] != "META" {
		t.Errorf("unified import: exit %d, upload %v", code, f.uploads[1])
	}
	// A taken alias is refused before anything is uploaded.
	_, stderr, code = f.run(t, "image", "import", meta, "--alias", "taken")
	if code == 0 || !strings.Contains(stderr, "already exists") || len(f.uploads) != 2 {
		t.Errorf("taken alias: exit %d %q, %d uploads", code, stderr, len(f.uploads))
	}
	_, stderr, code = f.run(t, "image", "import", filepath.Join(dir, "nosuch"))
	if code == 0 || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing file: exit %d %q", code, stderr)
	}
}

func TestImageExportPublishAliasCommands(t *testing.T) {
	f := newFakeImages(t)
	dir := t.TempDir()
	// A symlink where the export writes (planted by someone who knows the fingerprint) is
	// replaced, never written through: the file it points at, made by the test, keeps its bytes.
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("original"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, cliFP+".squashfs")); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := f.run(t, "image", "export", "my/img", dir)
	if code != 0 {
		t.Fatalf("export: exit %d %q", code, stderr)
	}
	m, _ := os.ReadFile(filepath.Join(dir, "meta-"+cliFP+".tar.xz"))
	r, _ := os.ReadFile(filepath.Join(dir, cliFP+".squashfs"))
	if string(m) != "M" || string(r) != "R" || strings.Count(out, "\n") != 2 {
		t.Errorf("export wrote %q %q, printed %q", m, r, out)
	}
	if v, _ := os.ReadFile(victim); string(v) != "original" {
		t.Errorf("image export wrote through a symlink: victim holds %q", v)
	}
	if st, err := os.Lstat(filepath.Join(dir, cliFP+".squashfs")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("export target is not a regular file: %v %v", st, err)
	}
	out, stderr, code = f.run(t, "publish", "web1", "--alias", "gold", "os=Debian")
	if code != 0 || !strings.Contains(out, cliFP) {
		t.Fatalf("publish: exit %d %q %q", code, out, stderr)
	}
	src := f.sources[0]
	if src.Source.Type != "instance" || src.Source.Name != "web1" || src.Aliases[0].Name != "gold" || src.Properties["os"] != "Debian" {
		t.Errorf("publish request %+v", src)
	}
	if _, stderr, code := f.run(t, "publish", "web1/snap0"); code == 0 || !strings.Contains(stderr, "snapshots") {
		t.Errorf("publish snapshot: exit %d %q", code, stderr)
	}
	if _, stderr, code := f.run(t, "image", "alias", "rename", "my/img", "other"); code != 0 || f.renamed != "my/img->other" {
		t.Errorf("alias rename: exit %d %q, renamed %q", code, stderr, f.renamed)
	}
	if _, stderr, code := f.run(t, "image", "build", "debian/13", "--include", "vim,curl", "--mirror", "http://m/debian", "--alias", "d13"); code != 0 {
		t.Errorf("build: exit %d %q", code, stderr)
	}
	b := f.sources[1]
	if b.Source.Type != "build" || b.Source.Alias != "debian/13" || strings.Join(b.Source.Include, ",") != "vim,curl" || b.Source.Mirror != "http://m/debian" || b.Aliases[0].Name != "d13" {
		t.Errorf("build request %+v", b)
	}
}
