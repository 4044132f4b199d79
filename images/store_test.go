package images

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"

	"lite/lxd-lite/idmap"
)

func TestStoreAddLayerDelete(t *testing.T) {
	requireRoot(t)
	s := &Store{Dir: filepath.Join(t.TempDir(), "images")}
	img := writeImage(t, richEntries()...)
	want, _ := Fingerprint(img)
	ctx := context.Background()

	fp, meta, err := s.Add(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if fp != want || meta.Properties["os"] != "Debian" {
		t.Fatalf("Add = %s %+v", fp, meta)
	}
	blob, err := s.BlobPath(fp)
	if err != nil || blob != filepath.Join(s.Dir, fp, "image.tar.gz") {
		t.Fatalf("BlobPath = %s, %v", blob, err)
	}
	if got, _ := Fingerprint(blob); got != fp {
		t.Fatal("stored bytes differ from the imported ones")
	}
	fp2, _, err := s.Add(ctx, img)
	assertKind(t, err, ErrExists)
	if fp2 != fp {
		t.Errorf("duplicate Add returned %s", fp2)
	}
	if list, _ := s.List(); !slices.Equal(list, []string{fp}) {
		t.Errorf("List = %v", list)
	}

	shift := idmap.Map{UID: 100000, GID: 100000, Size: idmap.Size}
	dir, err := s.Layer(ctx, fp, shift)
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(s.Dir, fp, "layers", "100000-100000") {
		t.Fatalf("layer dir %s", dir)
	}
	st := lstat(t, filepath.Join(dir, "rootfs/etc/hostname")).Sys().(*syscall.Stat_t)
	if st.Uid != 100000 {
		t.Errorf("layer not shifted: uid %d", st.Uid)
	}
	for _, p := range []string{"metadata.yaml", "templates/hostname.tpl"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("layer lacks %s", p)
		}
	}
	// A second call reuses the layer: a marker survives.
	os.WriteFile(filepath.Join(dir, "marker"), nil, 0o644)
	if again, err := s.Layer(ctx, fp, shift); err != nil || again != dir {
		t.Fatalf("second Layer = %s, %v", again, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "marker")); err != nil {
		t.Fatal("layer unpacked twice")
	}
	if other, err := s.Layer(ctx, fp, idmap.Map{}); err != nil || filepath.Base(other) != "0-0" {
		t.Fatalf("unshifted layer = %s, %v", other, err)
	}

	if err := s.Delete(fp); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(s.Dir, fp)); err == nil {
		t.Fatal("image dir left after Delete")
	}
	assertKind(t, s.Delete(fp), ErrNotFound)
	_, err = s.Layer(ctx, fp, shift)
	assertKind(t, err, ErrNotFound)
	_, err = s.BlobPath("abc")
	assertKind(t, err, ErrInvalid)
	assertKind(t, s.Delete("../../etc"), ErrInvalid)
	if _, err := os.Stat(img); err != nil {
		t.Fatal("Delete removed the source file")
	}
}

func TestStoreAddInvalid(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "images")}
	for name, img := range map[string]string{
		"no metadata": writeImage(t, ent{name: "rootfs/x", body: "x"}),
		"junk":        writeFile(t, "junk", []byte("not an image")),
	} {
		_, _, err := s.Add(context.Background(), img)
		assertKind(t, err, ErrInvalid)
		entries, _ := os.ReadDir(s.Dir)
		if len(entries) != 0 {
			t.Errorf("%s: store holds %d entries after a failed Add", name, len(entries))
		}
	}
	_, _, err := s.Add(context.Background(), "/nonexistent/image.tar.gz")
	if err == nil {
		t.Fatal("missing file: no error")
	}
}

func TestStoreConcurrentLayer(t *testing.T) {
	requireRoot(t)
	s := &Store{Dir: filepath.Join(t.TempDir(), "images")}
	fp, _, err := s.Add(context.Background(), writeImage(t, richEntries()...))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	dirs := make([]string, 8)
	errs := make([]error, 8)
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs[i], errs[i] = s.Layer(context.Background(), fp, idmap.Map{UID: 100000, GID: 100000, Size: idmap.Size})
		}()
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil || dirs[i] != dirs[0] {
			t.Fatalf("call %d: %s, %v", i, dirs[i], errs[i])
		}
	}
	entries, _ := os.ReadDir(filepath.Join(s.Dir, fp, "layers"))
	if len(entries) != 1 {
		t.Fatalf("layers dir holds %d entries, want 1", len(entries))
	}
}

func TestStoreFailedLayerLeavesNothing(t *testing.T) {
	requireRoot(t)
	s := &Store{Dir: filepath.Join(t.TempDir(), "images")}
	bad := writeImage(t, append(baseEntries(), ent{name: "rootfs/x", body: "x", uid: 70000})...)
	fp, _, err := s.Add(context.Background(), bad)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Layer(context.Background(), fp, idmap.Map{UID: 100000, GID: 100000, Size: idmap.Size})
	assertKind(t, err, ErrInvalid)
	entries, _ := os.ReadDir(filepath.Join(s.Dir, fp, "layers"))
	if len(entries) != 0 {
		t.Fatalf("layers dir holds %d entries after a failed unpack", len(entries))
	}
}

func TestStoreCleanTemp(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "images")}
	fp := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	stale := []string{
		filepath.Join(s.Dir, tempPrefix+"add-123"),
		filepath.Join(s.Dir, fp, "layers", tempPrefix+"100000-100000-42"),
	}
	keep := filepath.Join(s.Dir, fp, "layers", "100000-100000")
	for _, d := range append(stale, keep) {
		if err := os.MkdirAll(filepath.Join(d, "rootfs"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CleanTemp(); err != nil {
		t.Fatal(err)
	}
	for _, d := range stale {
		if _, err := os.Lstat(d); err == nil {
			t.Errorf("%s not removed", d)
		}
	}
	if _, err := os.Lstat(keep); err != nil {
		t.Error("a finished layer was removed")
	}
	if err := (&Store{Dir: "/nonexistent/images"}).CleanTemp(); err != nil {
		t.Errorf("missing dir: %v", err)
	}
}
