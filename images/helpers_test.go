package images

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"lite/test/roottest"
)

// testTime is the mtime of every fixture entry.
var testTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// testMetadata is a valid metadata.yaml with one template.
const testMetadata = `architecture: x86_64
creation_date: 1700000000
properties:
  os: Debian
  release: bookworm
templates:
  /etc/hostname:
    when: [create, copy]
    template: hostname.tpl
`

// ent is one fixture tar entry.
type ent struct {
	name, body, link string
	typ              byte
	mode             int64
	uid, gid         int
	xattrs           map[string]string
	major, minor     int64
}

// requireRoot stops a test that needs root (roottest: a failure in CI, a skip elsewhere).
func requireRoot(t *testing.T) {
	t.Helper()
	roottest.Require(t, "chown, xattrs, mknod")
}

// tarBytes builds an uncompressed tarball from entries.
func tarBytes(t *testing.T, entries ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode,
			Uid: e.uid, Gid: e.gid, ModTime: testTime, Size: int64(len(e.body)),
			Devmajor: e.major, Devminor: e.minor,
		}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
			if hdr.Typeflag == tar.TypeDir {
				hdr.Mode = 0o755
			}
		}
		if len(e.xattrs) > 0 {
			hdr.PAXRecords = map[string]string{}
			for k, v := range e.xattrs {
				hdr.PAXRecords[paxSchilyXattr+k] = v
			}
			hdr.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("tar header %s: %v", e.name, err)
		}
		if hdr.Size > 0 {
			if _, err := io.WriteString(tw, e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// compress compresses data with c (bzip2 through the bzip2 program, which
// Debian always has).
func compress(t *testing.T, c Compression, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch c {
	case CompressionNone:
		return data
	case CompressionGzip:
		zw := gzip.NewWriter(&buf)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	case CompressionXz:
		xw, err := xz.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		xw.Write(data)
		if err := xw.Close(); err != nil {
			t.Fatal(err)
		}
	case CompressionZstd:
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(data)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	case CompressionBzip2:
		cmd := exec.Command("bzip2", "-c")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("bzip2: %v", err)
		}
		return out
	default:
		t.Fatalf("no compressor for %s", c)
	}
	return buf.Bytes()
}

// writeImage writes a gzip tarball of entries to a temp file.
func writeImage(t *testing.T, entries ...ent) string {
	t.Helper()
	return writeFile(t, "image.tar.gz", compress(t, CompressionGzip, tarBytes(t, entries...)))
}

// writeFile writes data to a new file in a temp dir.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// baseEntries are a minimal valid image.
func baseEntries() []ent {
	return []ent{
		{name: "metadata.yaml", body: testMetadata},
		{name: "templates/", typ: tar.TypeDir},
		{name: "templates/hostname.tpl", body: "{{ instance.name }}\n"},
		{name: "rootfs/", typ: tar.TypeDir},
		{name: "rootfs/etc/", typ: tar.TypeDir},
		{name: "rootfs/etc/hostname", body: "placeholder\n"},
	}
}

// assertKind fails unless err wraps kind.
func assertKind(t *testing.T, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error %v, want one wrapping %v", err, kind)
	}
}

// statT returns the stat of path, not following a symlink.
func lstat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}
