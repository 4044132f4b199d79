package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"lite/lxd-lite/idmap"
)

// Store keeps images on disk, one directory per fingerprint:
//
//	Dir/<fp>/image<ext>              a unified image file, byte for byte as imported
//	Dir/<fp>/meta<ext>, rootfs<ext>  or the two files of a split image
//	Dir/<fp>/layers/<uid>-<gid>/     metadata.yaml, templates/, rootfs/ unpacked
//	                                 and shifted for that idmap
//
// A layer is an overlay lower directory: once renamed into place it is
// never written again, by the store or (through overlayfs) by containers.
// The zero value is not usable; set Dir. A Store must not be copied.
type Store struct {
	// Dir is the store's root, $LITE_DIR/images.
	Dir string
	// MaxBytes bounds the content an image may expand to when unpacked;
	// 0 means the default bound (64 GiB).
	MaxBytes int64

	mu    sync.Mutex
	locks map[string]*sync.Mutex // per fingerprint
}

// tempPrefix starts the names of the store's work-in-progress entries.
const tempPrefix = ".tmp-"

// lock serialises work on one fingerprint and returns the unlock.
func (s *Store) lock(fp string) func() {
	s.mu.Lock()
	if s.locks == nil {
		s.locks = map[string]*sync.Mutex{}
	}
	l, ok := s.locks[fp]
	if !ok {
		l = &sync.Mutex{}
		s.locks[fp] = l
	}
	s.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Add imports the unified image file at blobPath: it is hard-linked into
// the store (copied when that fails, so the caller must not modify the file
// in place afterwards; replacing it by a rename is fine), fingerprinted and
// its metadata validated. If the store already has the fingerprint, the
// error wraps ErrExists (fp and meta are still returned); a malformed image
// wraps ErrInvalid. A failed Add leaves nothing behind.
func (s *Store) Add(ctx context.Context, blobPath string) (fp string, meta Metadata, err error) {
	return s.add(ctx, []string{blobPath}, []string{"image"})
}

// AddSplit is Add for a split image: the metadata tarball and the rootfs
// file (a tarball or squashfs), fingerprinted together as LXD does
// (sha256 of the metadata bytes then the rootfs bytes).
func (s *Store) AddSplit(ctx context.Context, metaPath, rootfsPath string) (fp string, meta Metadata, err error) {
	return s.add(ctx, []string{metaPath, rootfsPath}, []string{"meta", "rootfs"})
}

// add stores files under the given base names (the extension comes from
// their format) in a temporary directory renamed to the fingerprint.
func (s *Store) add(ctx context.Context, files, bases []string) (fp string, meta Metadata, err error) {
	if err := os.MkdirAll(s.Dir, 0o711); err != nil {
		return "", Metadata{}, fmt.Errorf("image store: %w", err)
	}
	tmp, err := os.MkdirTemp(s.Dir, tempPrefix+"add-")
	if err != nil {
		return "", Metadata{}, fmt.Errorf("image store: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	stored := make([]string, len(files))
	for i, src := range files {
		head, err := readHead(src)
		if err != nil {
			return "", Metadata{}, fmt.Errorf("add image: %w", err)
		}
		comp, err := DetectCompression(head)
		if err != nil {
			return "", Metadata{}, fmt.Errorf("add image %s: %w", filepath.Base(src), err)
		}
		if comp == CompressionSquashfs && bases[i] != "rootfs" {
			return "", Metadata{}, fmt.Errorf("add image %s: a squashfs file can only be the rootfs of a split image: %w", filepath.Base(src), ErrInvalid)
		}
		stored[i] = filepath.Join(tmp, bases[i]+comp.Ext())
		if _, err := linkOrCopy(ctx, src, stored[i]); err != nil {
			return "", Metadata{}, fmt.Errorf("add image %s: %w", filepath.Base(src), err)
		}
	}
	if fp, err = Fingerprint(stored...); err != nil {
		return "", Metadata{}, err
	}
	if meta, err = ReadMetadata(stored[0]); err != nil {
		return "", Metadata{}, fmt.Errorf("add image: %w", err)
	}
	if err := os.Chmod(tmp, 0o711); err != nil {
		return "", Metadata{}, fmt.Errorf("add image: %w", err)
	}
	defer s.lock(fp)()
	final := filepath.Join(s.Dir, fp)
	if _, err := os.Lstat(final); err == nil {
		return fp, meta, fmt.Errorf("image %s: %w", fp, ErrExists)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", Metadata{}, fmt.Errorf("add image %s: %w", fp, err)
	}
	return fp, meta, nil
}

// readHead returns the first bytes of a file, enough to detect its format.
func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return head[:n], nil
}

// linkOrCopy puts src at dst (a hard link if possible, a copy otherwise)
// and returns the sha256 of dst's bytes.
func linkOrCopy(ctx context.Context, src, dst string) (string, error) {
	if err := os.Link(src, dst); err == nil {
		return Fingerprint(dst)
	}
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), &ctxReader{ctx: ctx, r: in})
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("copy: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ctxReader stops a long copy when its context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Files returns the stored files of fp: the one file of a unified image,
// or the metadata file then the rootfs file of a split image.
func (s *Store) Files(fp string) ([]string, error) {
	if !validFingerprint(fp) {
		return nil, fmt.Errorf("fingerprint %q: %w", fp, ErrInvalid)
	}
	dir := filepath.Join(s.Dir, fp)
	if m, _ := filepath.Glob(filepath.Join(dir, "image*")); len(m) == 1 {
		return m, nil
	}
	meta, _ := filepath.Glob(filepath.Join(dir, "meta*"))
	root, _ := filepath.Glob(filepath.Join(dir, "rootfs*"))
	if len(meta) == 1 && len(root) == 1 {
		return []string{meta[0], root[0]}, nil
	}
	return nil, fmt.Errorf("image %s: %w", fp, ErrNotFound)
}

// BlobPath returns the path of the image file stored for a unified image.
func (s *Store) BlobPath(fp string) (string, error) {
	files, err := s.Files(fp)
	if err != nil {
		return "", err
	}
	if len(files) != 1 {
		return "", fmt.Errorf("image %s is a split image: %w", fp, ErrInvalid)
	}
	return files[0], nil
}

// Layer returns the directory holding the image unpacked and shifted for
// shift (metadata.yaml, templates/, rootfs/), unpacking it on first use
// into a temporary directory renamed into place. Concurrent calls for the
// same image wait for one unpack; the result is never modified afterwards.
// The unpacked content is bounded by MaxBytes, and every template the
// metadata names must be a regular file inside templates/.
func (s *Store) Layer(ctx context.Context, fp string, shift idmap.Map) (string, error) {
	files, err := s.Files(fp)
	if err != nil {
		return "", err
	}
	layers := filepath.Join(s.Dir, fp, "layers")
	final := filepath.Join(layers, layerName(shift))
	if _, err := os.Lstat(final); err == nil {
		return final, nil
	}
	defer s.lock(fp)()
	if _, err := os.Lstat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(layers, layersMode); err != nil {
		return "", fmt.Errorf("image %s layer: %w", fp, err)
	}
	tmp, err := os.MkdirTemp(layers, tempPrefix+filepath.Base(final)+"-")
	if err != nil {
		return "", fmt.Errorf("image %s layer: %w", fp, err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if len(files) == 1 {
		err = UnpackLimited(ctx, files[0], tmp, shift, s.MaxBytes)
	} else {
		err = UnpackSplit(ctx, files[0], files[1], tmp, shift, s.MaxBytes)
	}
	if err == nil {
		err = checkRootfs(tmp)
	}
	if err == nil {
		err = CheckTemplates(tmp)
	}
	if err != nil {
		return "", fmt.Errorf("image %s layer: %w", fp, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("image %s layer: %w", fp, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another process may have won the race; its layer is as good.
		if _, serr := os.Lstat(final); serr == nil {
			return final, nil
		}
		return "", fmt.Errorf("image %s layer: %w", fp, err)
	}
	return final, nil
}

// Delete removes an image and all its layers. The caller makes sure no
// container still uses a layer as its lower directory.
func (s *Store) Delete(fp string) error {
	if !validFingerprint(fp) {
		return fmt.Errorf("fingerprint %q: %w", fp, ErrInvalid)
	}
	defer s.lock(fp)()
	dir := filepath.Join(s.Dir, fp)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("image %s: %w", fp, ErrNotFound)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("delete image %s: %w", fp, err)
	}
	return nil
}

// List returns the fingerprints of the images in the store.
func (s *Store) List() ([]string, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	out := []string{}
	for _, e := range entries {
		if e.IsDir() && validFingerprint(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// CleanTemp removes the temporary directories a crash left behind (an Add
// or a layer unpack cut short). Call it when the daemon starts, before any
// Add or Layer runs.
func (s *Store) CleanTemp() error {
	patterns := []string{
		filepath.Join(s.Dir, tempPrefix+"*"),
		filepath.Join(s.Dir, "*", "layers", tempPrefix+"*"),
	}
	for _, p := range patterns {
		if err := removeMatching(p); err != nil {
			return fmt.Errorf("image store: clean: %w", err)
		}
	}
	return nil
}

// layersMode keeps host users out of unpacked layers: they hold the image's setuid files,
// owned by container ids, and only root (which mounts the overlays) needs to read them.
const layersMode = 0o700

// Secure gives every image's layers directory layersMode (older versions made it 0711).
func (s *Store) Secure() error {
	dirs, err := filepath.Glob(filepath.Join(s.Dir, "*", "layers"))
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if err := os.Chmod(d, layersMode); err != nil {
			return fmt.Errorf("image store: secure %s: %w", d, err)
		}
	}
	return nil
}

// layerName is the directory name of the layer for shift.
func layerName(shift idmap.Map) string {
	return fmt.Sprintf("%d-%d", shift.UID, shift.GID)
}

// checkRootfs refuses an unpacked image without a rootfs directory (none at all, or a
// "rootfs" that is a file or a symlink): no container could start from it.
func checkRootfs(layerDir string) error {
	st, err := os.Lstat(filepath.Join(layerDir, "rootfs"))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("the image has no rootfs directory: %w", ErrInvalid)
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("the image's rootfs is not a directory (%s): %w", st.Mode().Type(), ErrInvalid)
	}
	return nil
}
