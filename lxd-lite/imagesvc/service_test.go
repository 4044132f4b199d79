package imagesvc

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lite/client/api"
	"lite/client/simplestreams"
	"lite/db"
	"lite/images"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/instance/instancetest"
	"lite/test/roottest"
)

// testFP is an image row the tests insert (no store files); its alias is debian/12.
const testFP = instancetest.ImageFP

// newService returns a service on a real database and store in a temp dir, with testFP
// recorded under the alias debian/12.
func newService(t *testing.T) *Service {
	t.Helper()
	dir := t.TempDir()
	return &Service{
		DB: instancetest.NewDB(t), Store: &images.Store{Dir: filepath.Join(dir, "store")}, TmpDir: filepath.Join(dir, "tmp"),
		IDMap: &idmap.Map{UID: 100000, GID: 100000, Size: 65536}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// TestResolveLocal finds an image by alias, fingerprint and fingerprint prefix; a name with
// neither an image nor a recipe is ErrNotFound naming what lite can build.
func TestResolveLocal(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	for _, src := range []api.InstanceSource{{Alias: "debian/12"}, {Fingerprint: testFP}, {Fingerprint: testFP[:12]}, {Alias: testFP[:12]}} {
		img, err := s.Resolve(ctx, src, nil)
		if err != nil || img.Fingerprint != testFP {
			t.Errorf("Resolve(%+v) = %s, %v", src, img.Fingerprint, err)
		}
	}
	_, err := s.Resolve(ctx, api.InstanceSource{Alias: "nope/1"}, nil)
	if !errors.Is(err, api.ErrNotFound) || !strings.Contains(err.Error(), "debian/12") {
		t.Errorf("unknown alias: %v, want ErrNotFound listing the recipes", err)
	}
	_, err = s.Resolve(ctx, api.InstanceSource{Fingerprint: "fedcba98"}, nil)
	if !errors.Is(err, api.ErrNotFound) {
		t.Errorf("unknown fingerprint: %v, want ErrNotFound", err)
	}
}

// TestPullRefusesBadRequests: a pull with another protocol, a URL that is not http(s) or a
// bad alias is refused before any request leaves the machine.
func TestPullRefusesBadRequests(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	tests := []PullOptions{
		{Server: "https://images.example", Protocol: "lxd", Name: "x"},
		{Server: "ftp://images.example", Protocol: "simplestreams", Name: "x"},
		{Server: "/etc/passwd", Protocol: "simplestreams", Name: "x"},
		// A closed local port: the alias check must come before any connection.
		{Server: "http://127.0.0.1:9", Protocol: "simplestreams", Name: "x", Aliases: []api.ImageAlias{{Name: "../x"}}},
	}
	for _, o := range tests {
		if _, err := s.Pull(ctx, o, nil); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("Pull(%+v): %v, want ErrInvalid", o, err)
		}
	}
	_, err := s.Resolve(ctx, api.InstanceSource{Server: "file:///x", Protocol: "simplestreams", Alias: "x"}, nil)
	if !errors.Is(err, api.ErrInvalid) {
		t.Errorf("Resolve from a file: server: %v, want ErrInvalid", err)
	}
}

// TestBuildRefusesBadRequests: an unknown recipe, a bad mirror or package name, a taken or
// bad alias are refused before any build starts.
func TestBuildRefusesBadRequests(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	tests := []struct {
		o    BuildOptions
		kind error
	}{
		{BuildOptions{Recipe: "plan9/4"}, api.ErrNotFound},
		{BuildOptions{Recipe: "debian/12", Mirror: "ftp://deb.example"}, api.ErrInvalid},
		{BuildOptions{Recipe: "debian/12", Include: []string{"vim; rm -rf /"}}, api.ErrInvalid},
		{BuildOptions{Recipe: "debian/12", Include: []string{"-oAPT::x"}}, api.ErrInvalid},
		{BuildOptions{Recipe: "debian/12", Aliases: []api.ImageAlias{{Name: "debian/12"}}}, api.ErrAlreadyExists},
		{BuildOptions{Recipe: "debian/12", Aliases: []api.ImageAlias{{Name: "a//b"}}}, api.ErrInvalid},
	}
	for _, tt := range tests {
		if _, err := s.Build(ctx, tt.o, func(string) { t.Errorf("%+v: a build started", tt.o) }); !errors.Is(err, tt.kind) {
			t.Errorf("Build(%+v): %v, want %v", tt.o, err, tt.kind)
		}
	}
	if entries, err := os.ReadDir(s.TmpDir); err == nil && len(entries) > 0 {
		t.Errorf("build dirs left: %v", entries)
	}
}

// TestDeleteRefusesUsedImage: an image some instance is made from is ErrConflict naming the
// instance, and stays; an unused one loses its row and its store files.
func TestDeleteRefusesUsedImage(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	_, err := s.DB.CreateInstance(ctx, db.Instance{Name: "c1", Type: "container", Architecture: "x86_64",
		Config: map[string]string{"volatile.base_image": testFP}, Devices: map[string]map[string]string{}, Profiles: []string{},
		CreatedAt: time.Now(), LastUsedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	storeDir := filepath.Join(s.Store.Dir, testFP)
	if err := os.MkdirAll(filepath.Join(storeDir, "layers"), 0o700); err != nil {
		t.Fatal(err)
	}
	err = s.Delete(ctx, testFP)
	if !errors.Is(err, api.ErrConflict) || !strings.Contains(err.Error(), "c1") {
		t.Fatalf("delete of a used image: %v, want ErrConflict naming c1", err)
	}
	if _, err := s.DB.GetImage(ctx, testFP); err != nil {
		t.Errorf("refused delete removed the row: %v", err)
	}
	if err := s.DB.DeleteInstance(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, testFP); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.GetImage(ctx, testFP); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("row after delete: %v", err)
	}
	if _, err := os.Stat(storeDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("store files after delete: %v", err)
	}
	if err := s.Delete(ctx, testFP); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
}

// TestSweep removes store entries without a row (an import a crash cut short) and keeps the
// others.
func TestSweep(t *testing.T) {
	s := newService(t)
	orphan := strings.Repeat("f", 64)
	for _, fp := range []string{testFP, orphan} {
		if err := os.MkdirAll(filepath.Join(s.Store.Dir, fp), 0o711); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	fps, err := s.Store.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(fps) != 1 || fps[0] != testFP {
		t.Errorf("store after sweep %v, want only %s", fps, testFP)
	}
}

// TestErrorKinds: errors from the images and simplestreams packages reach the API with the
// kind the server maps to a status; a server that cannot be reached is ErrUnavailable.
func TestErrorKinds(t *testing.T) {
	for _, tt := range []struct {
		err, kind error
	}{
		{images.ErrInvalid, api.ErrInvalid}, {images.ErrExists, api.ErrAlreadyExists}, {images.ErrNotFound, api.ErrNotFound},
	} {
		if err := apiKind(tt.err); !errors.Is(err, tt.kind) || !errors.Is(err, tt.err) {
			t.Errorf("apiKind(%v) = %v, want %v kept and %v added", tt.err, err, tt.err, tt.kind)
		}
	}
	if err := apiKind(nil); err != nil {
		t.Errorf("apiKind(nil) = %v", err)
	}
	for _, tt := range []struct {
		err, kind error
	}{
		{simplestreams.ErrNotFound, api.ErrNotFound}, {simplestreams.ErrInvalid, api.ErrInvalid},
		{errors.New("dial tcp: connection refused"), api.ErrUnavailable},
	} {
		if err := streamsKind(tt.err); !errors.Is(err, tt.kind) {
			t.Errorf("streamsKind(%v) = %v, want %v", tt.err, err, tt.kind)
		}
	}
	if err := streamsKind(context.Canceled); !errors.Is(err, context.Canceled) || errors.Is(err, api.ErrUnavailable) {
		t.Errorf("streamsKind(canceled) = %v, want the cancellation itself", err)
	}
}

// unifiedImage writes a gzipped unified image (metadata.yaml and rootfs/) for arch and
// returns its path; extra entries are added as given.
func unifiedImage(t *testing.T, arch string, extra ...*tar.Header) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	meta := "architecture: " + arch + "\ncreation_date: 1700000000\nproperties:\n  os: test\n  release: \"1\"\n"
	add := func(h *tar.Header, body string) {
		h.ModTime = time.Unix(1700000000, 0)
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	add(&tar.Header{Name: "metadata.yaml", Typeflag: tar.TypeReg, Mode: 0o644}, meta)
	add(&tar.Header{Name: "rootfs/", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	add(&tar.Header{Name: "rootfs/etc/", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	add(&tar.Header{Name: "rootfs/etc/hostname", Typeflag: tar.TypeReg, Mode: 0o644}, arch+"\n")
	for _, h := range extra {
		add(h, "")
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "image.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// storeEntries lists the store's fingerprints.
func storeEntries(t *testing.T, s *Service) []string {
	t.Helper()
	fps, err := s.Store.List()
	if err != nil {
		t.Fatal(err)
	}
	return fps
}

// TestImport records an image with its aliases, unpacked once for the default map (device
// nodes left out: an unprivileged container cannot use them); the same image again is
// ErrAlreadyExists and changes nothing.
func TestImport(t *testing.T) {
	roottest.Require(t, "unpacking an image chowns its files")
	s := newService(t)
	ctx := context.Background()
	node := &tar.Header{Name: "rootfs/dev-sda", Typeflag: tar.TypeBlock, Mode: 0o600, Devmajor: 8}
	img, err := s.Import(ctx, []string{unifiedImage(t, images.HostArchitecture(), node)}, ImportOptions{
		Filename: "t.tar.gz", Aliases: []api.ImageAlias{{Name: "test/1", Description: "d"}}, Properties: map[string]string{"release": "2"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if img.Properties["os"] != "test" || img.Properties["release"] != "2" || len(img.Aliases) != 1 || img.Aliases[0].Name != "test/1" {
		t.Errorf("imported image %+v", img)
	}
	if a, err := s.DB.GetAlias(ctx, "test/1"); err != nil || a.Target != img.Fingerprint {
		t.Errorf("alias test/1: %+v, %v", a, err)
	}
	layers, err := filepath.Glob(filepath.Join(s.Store.Dir, img.Fingerprint, "layers", "*", "rootfs", "etc", "hostname"))
	if err != nil || len(layers) != 1 {
		t.Errorf("unpacked layers %v, %v; want one", layers, err)
	}
	if nodes, _ := filepath.Glob(filepath.Join(s.Store.Dir, img.Fingerprint, "layers", "*", "rootfs", "dev-sda")); len(nodes) != 0 {
		t.Errorf("device node unpacked: %v", nodes)
	}
	_, err = s.Import(ctx, []string{unifiedImage(t, images.HostArchitecture(), node)}, ImportOptions{}, nil)
	if !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("second import: %v, want ErrAlreadyExists", err)
	}
	if got := storeEntries(t, s); len(got) != 1 {
		t.Errorf("store %v, want one image", got)
	}
}

// TestImportRefusedLeavesNothing: a taken alias, a fingerprint that does not match, a foreign
// architecture and a hostile entry are refused with their kinds, and leave no store files and
// no row.
func TestImportRefusedLeavesNothing(t *testing.T) {
	roottest.Require(t, "unpacking an image chowns its files")
	s := newService(t)
	ctx := context.Background()
	host := images.HostArchitecture()
	foreign := "s390x"
	if host == foreign {
		foreign = "x86_64"
	}
	tests := []struct {
		what  string
		image string
		o     ImportOptions
		kind  error
	}{
		{"taken alias", unifiedImage(t, host), ImportOptions{Aliases: []api.ImageAlias{{Name: "debian/12"}}}, api.ErrAlreadyExists},
		{"fingerprint mismatch", unifiedImage(t, host), ImportOptions{Fingerprint: strings.Repeat("a", 64)}, api.ErrInvalid},
		{"foreign architecture", unifiedImage(t, foreign), ImportOptions{}, api.ErrInvalid},
		{"escaping entry", unifiedImage(t, host, &tar.Header{Name: "rootfs/../../escape", Typeflag: tar.TypeReg, Mode: 0o644}), ImportOptions{}, api.ErrInvalid},
	}
	for _, tt := range tests {
		if _, err := s.Import(ctx, []string{tt.image}, tt.o, nil); !errors.Is(err, tt.kind) {
			t.Errorf("%s: %v, want %v", tt.what, err, tt.kind)
		}
		if got := storeEntries(t, s); len(got) != 0 {
			t.Fatalf("%s: store files left: %v", tt.what, got)
		}
	}
	list, err := s.DB.ListImages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Errorf("%d image rows, want only the test's own", len(list))
	}
}
