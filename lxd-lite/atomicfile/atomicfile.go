// Package atomicfile writes files that readers see whole or not at all.
package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
)

// tempMark is in the name of every temp file WriteFile makes: ".NAME.tmp-RANDOM".
const tempMark = ".tmp-"

// IsTemp reports whether a file name is one of WriteFile's temp files (left by a crash).
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempMark)
}

// WriteFile writes data to path with mode perm through a temp file in the same directory
// and a rename: a reader (dnsmasq, another goroutine, lited after a crash) finds the old
// content or the new, never a part. Concurrent writers each use their own temp file.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+tempMark)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}
