package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sys/unix"

	"lite/lxd-lite/idmap"
)

// A writable layer travels in the portable form OCI layers use, since no overlay attribute
// survives a tar (the unpacker drops them as hostile): a deleted file NAME (an overlay whiteout,
// a 0/0 character device) is an empty file ".wh.NAME" beside it, and a directory that hides
// the image's (an opaque one) holds an empty ".wh..wh..opq".
const (
	WhiteoutPrefix = ".wh."
	OpaqueMarker   = ".wh..wh..opq"
)

// ErrNotPortable is returned by PackLayer for a layer whose overlay metadata a tar cannot
// carry: a directory renamed from the image's (a redirect) or a metadata-only copy.
var ErrNotPortable = errors.New("the writable layer has renamed image directories")

// PackLayer writes an overlay writable layer (upper) as a gzip tarball of rootfs/ in the
// portable whiteout form, ids moved down by unshift as Pack does.
func PackLayer(ctx context.Context, w io.Writer, upper string, unshift idmap.Map) error {
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	tw := tar.NewWriter(zw)
	p := &packer{ctx: ctx, tw: tw, unshift: unshift, links: map[fileID]string{}}
	err = filepath.WalkDir(upper, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, path)
		if err != nil {
			return err
		}
		return p.layerEntry(path, filepath.ToSlash(filepath.Join("rootfs", rel)))
	})
	if err != nil {
		return fmt.Errorf("pack layer %s: %w", upper, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	return zw.Close()
}

// layerEntry writes one entry of a writable layer: whiteouts and opaque directories become
// their markers; everything else as Pack writes it.
func (p *packer) layerEntry(path, name string) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
		dir, base := filepath.Split(name)
		return p.marker(dir + WhiteoutPrefix + base)
	}
	for _, x := range []string{"trusted.overlay.", "user.overlay."} {
		if hasXattr(path, x+"redirect") || hasXattr(path, x+"metacopy") {
			return fmt.Errorf("%s: %w", path, ErrNotPortable)
		}
	}
	if err := p.entry(path, name); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR && (xattrIs(path, "trusted.overlay.opaque", "y") || xattrIs(path, "user.overlay.opaque", "y")) {
		return p.marker(name + "/" + OpaqueMarker)
	}
	return nil
}

// marker writes an empty regular file owned by the container's root: overlay makes whiteouts
// with the mounter's (host root's) ids, which no container id maps to.
func (p *packer) marker(name string) error {
	return p.tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(name, "/"), Typeflag: tar.TypeReg, Mode: 0o600})
}

func hasXattr(path, name string) bool {
	_, err := unix.Lgetxattr(path, name, nil)
	return err == nil
}

func xattrIs(path, name, want string) bool {
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(path, name, buf)
	return err == nil && string(buf[:n]) == want
}
