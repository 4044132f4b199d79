package images

import (
	"archive/tar"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"lite/lxd-lite/idmap"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sys/unix"
)

// Pack writes dir's metadata.yaml, templates/ and rootfs/ to w as a
// gzip-compressed LXD unified image tarball: numeric owners (moved down by
// unshift, so a shifted layer or container packs back to container ids),
// modes, mtimes, xattrs (file capabilities and ACLs unshifted too),
// symlinks, hard links, device nodes and fifos. Sockets are left out.
func Pack(ctx context.Context, w io.Writer, dir string, unshift idmap.Map) error {
	return PackParts(ctx, w, PackSources{
		Metadata:  filepath.Join(dir, "metadata.yaml"),
		Templates: filepath.Join(dir, "templates"),
		Rootfs:    filepath.Join(dir, "rootfs"),
	}, unshift)
}

// PackSources name where each part of a unified image comes from, so a
// container's mounted rootfs can be packed with a fresh metadata.yaml and
// its image's templates without copying them together first.
type PackSources struct {
	Metadata  string // the metadata.yaml file
	Templates string // the templates directory; skipped when missing or ""
	Rootfs    string // the root filesystem directory
}

// PackParts is Pack with each part taken from its own path.
func PackParts(ctx context.Context, w io.Writer, src PackSources, unshift idmap.Map) error {
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	tw := tar.NewWriter(zw)
	p := &packer{ctx: ctx, tw: tw, unshift: unshift, links: map[fileID]string{}}
	for _, part := range []struct{ top, path string }{
		{"metadata.yaml", src.Metadata}, {"templates", src.Templates}, {"rootfs", src.Rootfs},
	} {
		if part.top == "templates" {
			if _, err := os.Lstat(part.path); part.path == "" || errors.Is(err, fs.ErrNotExist) {
				continue
			}
		}
		if err := p.tree(part.path, part.top); err != nil {
			return fmt.Errorf("pack %s: %w", part.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	return nil
}

// fileID identifies an inode, to find hard links.
type fileID struct{ dev, ino uint64 }

// packer holds the state of one Pack.
type packer struct {
	ctx     context.Context
	tw      *tar.Writer
	unshift idmap.Map
	links   map[fileID]string // first entry name of each multiply-linked file
}

// tree writes src and, if it is a directory, everything below it, in
// lexical order, naming entries from prefix.
func (p *packer) tree(src, prefix string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := p.ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(filepath.Join(prefix, rel))
		return p.entry(path, name)
	})
}

// entry writes one file's header and content.
func (p *packer) entry(path, name string) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	uid, err := unshiftID(p.unshift, idmap.User, st.Uid)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	gid, err := unshiftID(p.unshift, idmap.Group, st.Gid)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	hdr := &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(uid),
		Gid:     int(gid),
		ModTime: time.Unix(st.Mtim.Sec, 0),
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
	case unix.S_IFREG:
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
		if st.Nlink > 1 {
			id := fileID{dev: st.Dev, ino: st.Ino}
			if first, ok := p.links[id]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				p.links[id] = name
			}
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(path)
		if err != nil {
			return fmt.Errorf("readlink %s: %w", path, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil // sockets cannot be archived; they are recreated at run time
	}
	if err := p.addXattrs(hdr, path); err != nil {
		return err
	}
	if err := p.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
		return nil
	}
	return p.content(path, hdr.Size)
}

// content copies a regular file's bytes, refusing to follow a symlink
// swapped in since the stat.
func (p *packer) content(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	if _, err := io.CopyN(p.tw, f, size); err != nil {
		return fmt.Errorf("copy %s: %w", path, err)
	}
	return nil
}

// addXattrs records path's xattrs as SCHILY.xattr PAX records, unshifted.
func (p *packer) addXattrs(hdr *tar.Header, path string) error {
	xs, err := readXattrs(path)
	if err != nil {
		return err
	}
	for _, x := range xs {
		if skipXattr(x.name) {
			continue
		}
		v, err := unshiftXattr(x.name, x.value, p.unshift)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords[paxSchilyXattr+x.name] = string(v)
	}
	if hdr.PAXRecords != nil {
		hdr.Format = tar.FormatPAX
	}
	return nil
}

// unshiftID moves a host id back to a container id; a host id outside the map is refused.
func unshiftID(m idmap.Map, k idmap.Kind, id uint32) (uint32, error) {
	c, err := m.ToContainer(k, id)
	if err != nil {
		return 0, fmt.Errorf("owner %w: %w", err, ErrInvalid)
	}
	return c, nil
}

// unshiftXattr undoes shiftXattr for packing.
func unshiftXattr(name string, v []byte, s idmap.Map) ([]byte, error) {
	if s.IsZero() {
		return v, nil
	}
	switch name {
	case xattrCapability:
		// Whatever root id the file carries, the packed image is 0-based.
		return shiftCapability(v, 0)
	case xattrACLAccess, xattrACLDefault:
		return unshiftACL(v, s)
	}
	return v, nil
}

// unshiftACL moves named-user and named-group ACL ids back to container ids.
func unshiftACL(v []byte, s idmap.Map) ([]byte, error) {
	// Validate the layout with a zero shift, then walk the entries.
	out, err := shiftACL(v, idmap.Map{})
	if err != nil {
		return nil, err
	}
	for off := aclHeaderLen; off < len(out); off += aclEntryLen {
		kind := idmap.User
		switch binary.LittleEndian.Uint16(out[off:]) {
		case aclTagUser:
		case aclTagGroup:
			kind = idmap.Group
		default:
			continue
		}
		id, err := unshiftID(s, kind, binary.LittleEndian.Uint32(out[off+4:]))
		if err != nil {
			return nil, fmt.Errorf("acl: %w", err)
		}
		binary.LittleEndian.PutUint32(out[off+4:], id)
	}
	return out, nil
}
