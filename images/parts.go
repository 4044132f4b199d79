package images

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"strings"

	"lite/lxd-lite/idmap"

	"golang.org/x/sys/unix"
)

// part is one file of an image: a unified tarball, or the metadata or the
// rootfs file of a split image.
type part struct {
	path     string
	prefix   string // prepended to every entry name ("rootfs" for a split rootfs)
	metaOnly bool   // only metadata.yaml and templates/ are taken from it
}

// unpackParts extracts the parts into dest with one set of limits.
func unpackParts(ctx context.Context, dest string, shift idmap.Map, lim limits, parts []part) (err error) {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dest)
		}
	}()
	root, err := unix.Open(dest, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("unpack: open %s: %w", dest, err)
	}
	u := &unpacker{root: root, shift: shift, lim: lim, parentFD: -1}
	defer u.close()
	for _, p := range parts {
		rc, err := openPart(ctx, p.path, dest+".squashfs")
		if err != nil {
			return err
		}
		u.prefix, u.metaOnly = p.prefix, p.metaOnly
		err = u.run(ctx, tar.NewReader(rc))
		if cerr := rc.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("%v: %w", cerr, ErrInvalid)
		}
		if err != nil {
			return fmt.Errorf("unpack %s: %w", p.path, err)
		}
	}
	return u.finish()
}

// rename applies the part's prefix to the entry (and hard link target) and
// drops what a metadata-only part may not carry. Absolute names are refused
// before prefixing, which would hide them.
func (u *unpacker) rename(hdr *tar.Header) error {
	if u.metaOnly {
		rel, ok, err := cleanEntryName(hdr.Name, u.lim.pathLen)
		if err != nil {
			return err
		}
		if ok && (rel == "rootfs" || strings.HasPrefix(rel, "rootfs/")) {
			hdr.Name = "ignored/" + hdr.Name
		}
		return nil
	}
	if u.prefix == "" {
		return nil
	}
	if strings.HasPrefix(hdr.Name, "/") {
		return fmt.Errorf("absolute entry name: %w", ErrInvalid)
	}
	hdr.Name = u.prefix + "/" + hdr.Name
	if hdr.Typeflag == tar.TypeLink {
		if strings.HasPrefix(hdr.Linkname, "/") {
			return fmt.Errorf("hard link to absolute path %q: %w", hdr.Linkname, ErrInvalid)
		}
		hdr.Linkname = u.prefix + "/" + hdr.Linkname
	}
	return nil
}
