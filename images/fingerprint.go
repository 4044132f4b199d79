package images

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// Fingerprint returns the hex sha256 of the files' bytes, concatenated in
// the order given: the one file of a unified image, or the metadata file
// then the rootfs file of a split image, as LXD computes it.
func Fingerprint(paths ...string) (string, error) {
	if len(paths) == 0 {
		return "", fmt.Errorf("fingerprint: no file: %w", ErrInvalid)
	}
	h := sha256.New()
	for _, p := range paths {
		if err := hashFile(h, p); err != nil {
			return "", fmt.Errorf("fingerprint: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// validFingerprint reports whether fp is a full lower-case hex sha256, the
// only form the store accepts (prefix matching is the database's job).
func validFingerprint(fp string) bool {
	if len(fp) != sha256.Size*2 {
		return false
	}
	for _, c := range fp {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
