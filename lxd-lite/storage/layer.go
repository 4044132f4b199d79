package storage

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"lite/client/api"
	"lite/images"
)

// RestoreWhiteouts turns the portable markers of an unpacked writable layer (images.PackLayer)
// back into overlay metadata, in host layout: ".wh.NAME" becomes a whiteout NAME (a 0/0
// character device owned by owner), ".wh..wh..opq" makes its directory opaque. The tree is
// the import's own (nothing runs in it yet) and WalkDir never follows a symlink; a marker
// beside a file of its own name is refused.
func RestoreWhiteouts(upper string, owner Owner) error {
	return filepath.WalkDir(upper, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if !strings.HasPrefix(name, images.WhiteoutPrefix) || path == upper {
			return nil
		}
		rel := strings.TrimPrefix(path, upper)
		if !d.Type().IsRegular() {
			return fmt.Errorf("bad layer: %s is a whiteout marker but not a file: %w", rel, api.ErrInvalid)
		}
		dir := filepath.Dir(path)
		if name == images.OpaqueMarker {
			if err := unix.Lsetxattr(dir, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
				return fmt.Errorf("mark %s opaque: %w", dir, err)
			}
			return os.Remove(path)
		}
		target := filepath.Join(dir, strings.TrimPrefix(name, images.WhiteoutPrefix))
		if base := filepath.Base(target); base == "." || base == ".." || base == "" {
			return fmt.Errorf("bad layer: whiteout marker %s names no file: %w", rel, api.ErrInvalid)
		}
		if _, err := os.Lstat(target); err == nil {
			return fmt.Errorf("bad layer: %s is both deleted (a whiteout marker) and present: %w", strings.TrimPrefix(target, upper), api.ErrInvalid)
		}
		if err := unix.Mknod(target, unix.S_IFCHR|0o000, 0); err != nil {
			return fmt.Errorf("whiteout %s: %w", target, err)
		}
		if err := os.Lchown(target, owner.UID, owner.GID); err != nil {
			return err
		}
		return os.Remove(path)
	})
}
