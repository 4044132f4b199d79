package images

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"lite/lxd-lite/idmap"
)

// TestPackLayer packs an overlay writable layer: a whiteout and an opaque directory become
// their portable markers; a redirect makes the layer not portable.
func TestPackLayer(t *testing.T) {
	requireRoot(t)
	upper := t.TempDir()
	for _, d := range []string{"etc", "usr/doc"} {
		if err := os.MkdirAll(filepath.Join(upper, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(upper, "etc/new"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(filepath.Join(upper, "etc/motd"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lsetxattr(filepath.Join(upper, "usr/doc"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := PackLayer(context.Background(), &buf, upper, idmap.Map{}); err != nil {
		t.Fatal(err)
	}
	hdrs := readHeaders(t, buf.Bytes())
	for _, name := range []string{"rootfs/", "rootfs/etc/new", "rootfs/etc/.wh.motd", "rootfs/usr/doc/", "rootfs/usr/doc/.wh..wh..opq"} {
		if _, ok := hdrs[name]; !ok {
			t.Errorf("%s missing from the layer (have %v)", name, keys(hdrs))
		}
	}
	if h := hdrs["rootfs/etc/.wh.motd"]; h != nil && (h.Typeflag != tar.TypeReg || h.Size != 0) {
		t.Errorf("whiteout marker %c %d", h.Typeflag, h.Size)
	}
	if _, ok := hdrs["rootfs/etc/motd"]; ok {
		t.Error("the whiteout itself was packed")
	}
	if err := unix.Lsetxattr(filepath.Join(upper, "etc"), "trusted.overlay.redirect", []byte("/old"), 0); err != nil {
		t.Fatal(err)
	}
	if err := PackLayer(context.Background(), &buf, upper, idmap.Map{}); !errors.Is(err, ErrNotPortable) {
		t.Errorf("a layer with a redirect: %v, want ErrNotPortable", err)
	}
}

func keys(m map[string]*tar.Header) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
