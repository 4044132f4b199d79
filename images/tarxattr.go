package images

import (
	"archive/tar"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// PAX record prefixes carrying xattrs: GNU tar and Go write SCHILY.xattr.*
// with raw values; bsdtar writes LIBARCHIVE.xattr.* with a URL-encoded name
// and a base64 value.
const (
	paxSchilyXattr    = "SCHILY.xattr."
	paxLibarchiveXatt = "LIBARCHIVE.xattr."
)

// xattr is one extended attribute.
type xattr struct {
	name  string
	value []byte
}

// entryXattrs returns a tar entry's xattrs, sorted by name. When both
// spellings name the same attribute, the SCHILY one wins.
func entryXattrs(hdr *tar.Header) ([]xattr, error) {
	vals := map[string][]byte{}
	for k, v := range hdr.PAXRecords {
		if !strings.HasPrefix(k, paxLibarchiveXatt) {
			continue
		}
		name, err := url.QueryUnescape(strings.TrimPrefix(k, paxLibarchiveXatt))
		if err != nil {
			return nil, fmt.Errorf("xattr name %q: %w", k, ErrInvalid)
		}
		val, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			val, err = base64.RawStdEncoding.DecodeString(v)
		}
		if err != nil {
			return nil, fmt.Errorf("xattr %q value: %w", name, ErrInvalid)
		}
		vals[name] = val
	}
	for k, v := range hdr.PAXRecords {
		if strings.HasPrefix(k, paxSchilyXattr) {
			vals[strings.TrimPrefix(k, paxSchilyXattr)] = []byte(v)
		}
	}
	out := make([]xattr, 0, len(vals))
	for name, val := range vals {
		if name == "" || strings.ContainsRune(name, 0) {
			return nil, fmt.Errorf("xattr name %q: %w", name, ErrInvalid)
		}
		out = append(out, xattr{name: name, value: val})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// readXattrs returns the xattrs of path (not following a symlink), sorted
// by name, for packing an image.
func readXattrs(path string) ([]xattr, error) {
	size, err := unix.Llistxattr(path, nil)
	if errors.Is(err, unix.EOPNOTSUPP) || size == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list xattrs of %s: %w", path, err)
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(path, buf)
	if err != nil {
		return nil, fmt.Errorf("list xattrs of %s: %w", path, err)
	}
	var out []xattr
	for _, name := range strings.Split(string(buf[:size]), "\x00") {
		if name == "" {
			continue
		}
		vsize, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return nil, fmt.Errorf("get xattr %s of %s: %w", name, path, err)
		}
		val := make([]byte, vsize)
		vsize, err = unix.Lgetxattr(path, name, val)
		if err != nil {
			return nil, fmt.Errorf("get xattr %s of %s: %w", name, path, err)
		}
		out = append(out, xattr{name: name, value: val[:vsize]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}
