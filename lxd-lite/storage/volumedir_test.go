package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"lite/client/api"
)

// A volume whose directory exists already is refused with ErrAlreadyExists, and the
// directory someone else made is left as it was.
func TestCreateRefusesExistingDirectory(t *testing.T) {
	p := &Pool{Dir: t.TempDir(), Driver: Dir}
	v := p.Volume("c1", t.TempDir())
	if err := os.Mkdir(v.Path, 0o700); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(v.Path, "keep")
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := p.Create(context.Background(), v, Owner{})
	if !errors.Is(err, api.ErrAlreadyExists) {
		t.Fatalf("Create over an existing directory: %v, want ErrAlreadyExists", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("the existing directory was touched: %v", err)
	}
	src := p.Volume("c0", t.TempDir())
	if err := p.CopyVolume(context.Background(), src, v, CopyOptions{}); !errors.Is(err, api.ErrAlreadyExists) {
		t.Fatalf("CopyVolume onto an existing directory: %v, want ErrAlreadyExists", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("the existing directory was touched: %v", err)
	}
}

// A copy that fails half-way (here: the source has no writable layer) leaves no directory.
func TestCopyVolumeFailureLeavesNothing(t *testing.T) {
	p := &Pool{Dir: t.TempDir(), Driver: Dir}
	src, dst := p.Volume("c0", t.TempDir()), p.Volume("c1", t.TempDir())
	if err := os.Mkdir(src.Path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := p.CopyVolume(context.Background(), src, dst, CopyOptions{}); err == nil {
		t.Fatal("copy of a volume without a layer succeeded")
	}
	if _, err := os.Lstat(dst.Path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("failed copy left %s behind (%v)", dst.Path, err)
	}
}
