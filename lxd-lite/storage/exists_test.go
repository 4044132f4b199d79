package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"lite/client/api"
)

// A directory that is in the way (a crash's leftover, or a name taken outside the database)
// fails every step that would make or move a container or snapshot directory onto it with
// ErrAlreadyExists (a 409 for the client), not an error without a kind (a 500), and the
// directory in the way is left as it was. These checks come before any work, so no root is
// needed.
func TestDirectoryInTheWayIsAlreadyExists(t *testing.T) {
	p := &Pool{Dir: t.TempDir(), Driver: Dir}
	src, taken := p.Volume("c1", ""), p.Volume("c2", "")
	for _, d := range []string{src.Path, p.SnapshotPath(src, "s0"), filepath.Join(p.SnapshotPath(src, "s1"), "keep"), filepath.Join(taken.Path, "keep")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	owner := Owner{UID: os.Getuid(), GID: os.Getgid()}
	steps := map[string]error{
		"create":          p.Create(context.Background(), taken, owner),
		"copy":            p.CopyVolume(context.Background(), src, taken, CopyOptions{}),
		"rename":          p.Rename(src, "c2"),
		"rename snapshot": p.RenameSnapshot(src, "s0", "s1"),
	}
	for step, err := range steps {
		if !errors.Is(err, api.ErrAlreadyExists) || api.StatusFor(err) != 409 {
			t.Errorf("%s onto an existing directory: %v, want ErrAlreadyExists", step, err)
		}
	}
	for _, d := range []string{filepath.Join(taken.Path, "keep"), filepath.Join(p.SnapshotPath(src, "s1"), "keep"), p.SnapshotPath(src, "s0")} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was touched: %v", d, err)
		}
	}
}
