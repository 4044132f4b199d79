package simplestreams

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func file(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sum(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// serve publishes entries and serves them on 127.0.0.1, counting requests.
func serve(t *testing.T, entries []Entry) (string, string, *atomic.Int64) {
	t.Helper()
	dir := t.TempDir()
	if err := Write(dir, entries); err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	fs := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, dir, &hits
}

func TestResolveAndDownload(t *testing.T) {
	meta, rootOld, rootNew, uni := "META", "ROOT-old", "hsqsROOT-new", "UNIFIED"
	entries := []Entry{
		{OS: "Debian", Release: "bookworm", ReleaseTitle: "12", Variant: "default", Arch: "amd64", Serial: "20240101_00:00",
			Aliases: []string{"debian/12", "debian/bookworm"}, Files: []string{file(t, "m", meta), file(t, "r", rootOld)}},
		{OS: "Debian", Release: "bookworm", ReleaseTitle: "12", Variant: "default", Arch: "amd64", Serial: "20240301_00:00",
			Aliases: []string{"debian/12", "debian/bookworm"}, Files: []string{file(t, "m", meta), file(t, "r", rootNew)}, Incus: true},
		{OS: "Alpine", Release: "3.19", ReleaseTitle: "3.19", Variant: "default", Arch: "amd64", Serial: "20240101_00:00",
			Aliases: []string{"alpine/3.19"}, Files: []string{file(t, "u", uni)}, Requirements: map[string]string{"secureboot": "false"}},
		{OS: "Debian", Release: "bookworm", ReleaseTitle: "12", Variant: "default", Arch: "s390x", Serial: "20240401_00:00",
			Aliases: []string{"debian/12"}, Files: []string{file(t, "m", meta), file(t, "r", "other")}},
	}
	url, _, hits := serve(t, entries)
	c := &Client{URL: url, CacheDir: t.TempDir()}
	ctx := context.Background()

	img, err := c.Resolve(ctx, "debian/12")
	if err != nil {
		t.Fatal(err)
	}
	// Newest version, host architecture (the s390x one is newer but foreign).
	if img.Fingerprint != sum(meta, rootNew) || img.RootType != "squashfs" || img.Serial != "20240301_00:00" {
		t.Errorf("resolved %+v", img)
	}
	if _, err := c.Resolve(ctx, "debian/bookworm/amd64"); err != nil {
		t.Errorf("alias with arch suffix: %v", err)
	}
	var lines []string
	paths, err := c.Download(ctx, img, t.TempDir(), func(s string) { lines = append(lines, s) })
	if err != nil || len(paths) != 2 {
		t.Fatalf("download: %v %v", paths, err)
	}
	if b, _ := os.ReadFile(paths[1]); string(b) != rootNew {
		t.Errorf("rootfs content %q", b)
	}
	uimg, err := c.Resolve(ctx, "alpine/3.19")
	if err != nil || uimg.Rootfs != nil || uimg.Fingerprint != sum(uni) || uimg.Properties["requirements.secureboot"] != "false" {
		t.Fatalf("unified: %+v %v", uimg, err)
	}
	if _, err := c.Resolve(ctx, "nosuch/1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown alias: %v", err)
	}
	// The index and products came from the cache after the first resolve.
	before := hits.Load()
	if _, err := c.Resolve(ctx, "debian/12"); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != before {
		t.Error("index fetched again within the cache TTL")
	}
}

func TestDownloadVerifies(t *testing.T) {
	entries := []Entry{{OS: "Debian", Release: "bookworm", Variant: "default", Arch: "amd64", Serial: "20240101_00:00",
		Aliases: []string{"d"}, Files: []string{file(t, "m", "META"), file(t, "r", "ROOT")}}}
	url, dir, _ := serve(t, entries)
	c := &Client{URL: url}
	img, err := c.Resolve(context.Background(), "d")
	if err != nil {
		t.Fatal(err)
	}
	// Tamper with the served rootfs: same size, other bytes.
	root := filepath.Join(dir, filepath.FromSlash(img.Rootfs.Path))
	if err := os.WriteFile(root, []byte("EVIL"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	_, err = c.Download(context.Background(), img, out, nil)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("tampered download: %v", err)
	}
	if left, _ := os.ReadDir(out); len(left) != 0 {
		t.Errorf("left after a failed download: %v", left)
	}
	// A server that announces a fingerprint the files do not make.
	img2 := img
	img2.Fingerprint = strings.Repeat("0", 64)
	img2.Rootfs = &File{Path: img.Rootfs.Path, Size: 4}
	if _, err := c.Download(context.Background(), img2, out, nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "fingerprint") {
		t.Errorf("fingerprint mismatch: %v", err)
	}
}
