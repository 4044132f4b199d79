package simplestreams

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Entry is one image to publish with Write.
type Entry struct {
	OS, Release, ReleaseTitle, Variant string
	Arch                               string // Debian's name (amd64), as servers write it
	Serial                             string // YYYYMMDD_HH:MM
	Aliases                            []string
	// Files are the image's files: one unified tarball, or the metadata tarball then the
	// rootfs (a squashfs or a tarball).
	Files []string
	// Incus writes Incus's ftypes (incus.tar.xz, incus_combined.tar.gz) instead of LXD's.
	Incus bool
	// Requirements are written as "requirements" (and "lxd_requirements" for LXD's ftypes).
	Requirements map[string]string
}

// Write publishes the entries as a static simplestreams tree under dir: the files under
// images/<os>/<release>/<arch>/<variant>/<serial>/, streams/v1/images.json and index.json.
func Write(dir string, entries []Entry) error {
	prods := Products{ContentID: "images", DataType: "image-downloads", Format: "products:1.0", Products: map[string]Product{}}
	var names []string
	for _, e := range entries {
		key := strings.Join([]string{strings.ToLower(e.OS), e.Release, e.Arch, e.Variant}, ":")
		prod, ok := prods.Products[key]
		if !ok {
			prod = Product{Aliases: strings.Join(e.Aliases, ","), Arch: e.Arch, OS: e.OS, Release: e.Release,
				ReleaseTitle: e.ReleaseTitle, Variant: e.Variant, Requirements: e.Requirements, Versions: map[string]Version{}}
			if !e.Incus {
				prod.LXDRequirements = e.Requirements
			}
			names = append(names, key)
		}
		rel := path.Join("images", strings.ToLower(e.OS), e.Release, e.Arch, e.Variant, e.Serial)
		items, err := writeItems(filepath.Join(dir, filepath.FromSlash(rel)), rel, e)
		if err != nil {
			return err
		}
		prod.Versions[e.Serial] = Version{Items: items}
		prods.Products[key] = prod
	}
	idx := Index{Format: "index:1.0", Index: map[string]IndexEntry{"images": {
		DataType: "image-downloads", Path: "streams/v1/images.json", Format: "products:1.0", Products: names,
	}}}
	if err := os.MkdirAll(filepath.Join(dir, "streams", "v1"), 0o755); err != nil {
		return err
	}
	for name, v := range map[string]any{"index.json": idx, "images.json": prods} {
		b, err := json.MarshalIndent(v, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "streams", "v1", name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeItems copies an entry's files into dir and describes them.
func writeItems(dir, rel string, e Entry) (map[string]Item, error) {
	if len(e.Files) < 1 || len(e.Files) > 2 {
		return nil, fmt.Errorf("simplestreams: entry %s/%s needs one or two files", e.OS, e.Release)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	metaType, unifiedType := "lxd.tar.xz", "lxd_combined.tar.gz"
	if e.Incus {
		metaType, unifiedType = "incus.tar.xz", "incus_combined.tar.gz"
	}
	whole := sha256.New()
	items := map[string]Item{}
	for i, src := range e.Files {
		name := unifiedType
		ftype := unifiedType
		if len(e.Files) == 2 && i == 0 {
			name, ftype = metaType, metaType
		}
		if i == 1 {
			head := make([]byte, 4)
			if f, err := os.Open(src); err == nil {
				_, _ = io.ReadFull(f, head)
				f.Close()
			}
			name, ftype = "root.tar.xz", "root.tar.xz"
			if string(head) == "hsqs" {
				name, ftype = "rootfs.squashfs", "squashfs"
			}
		}
		size, sum, err := copyHashed(src, filepath.Join(dir, name), whole)
		if err != nil {
			return nil, err
		}
		items[name] = Item{Ftype: ftype, Path: path.Join(rel, name), Size: size, SHA256: sum}
	}
	if len(e.Files) == 2 {
		meta := items[metaType]
		fp := hex.EncodeToString(whole.Sum(nil))
		if items["rootfs.squashfs"].Path != "" {
			meta.CombinedSquashfsSHA256 = fp
		} else {
			meta.CombinedRootxzSHA256, meta.CombinedSHA256 = fp, fp
		}
		items[metaType] = meta
	}
	return items, nil
}

// copyHashed copies src to dst and returns its size and sha256, hashing into whole too.
func copyHashed(src, dst string, whole io.Writer) (int64, string, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, "", err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return 0, "", err
	}
	defer out.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h, whole), in)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), out.Close()
}
