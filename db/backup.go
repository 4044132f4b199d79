package db

import (
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// BackupPath is where the copy of the database at path from before the update of schema
// version is kept.
func BackupPath(path string, version int) string { return fmt.Sprintf("%s.bak.%d", path, version) }

// backupBeforeUpdate copies the database at schema version into BackupPath with VACUUM INTO,
// which reads through SQLite (a file copy of a WAL database can miss committed pages). The
// copy is made 0600 like the database. A copy left by an earlier attempt that did not
// finish the update is of the same version and is replaced.
func (d *DB) backupBeforeUpdate(ctx context.Context, path string, version int) error {
	bak := BackupPath(path, version)
	if err := os.Remove(bak); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("replace old backup %s: %w", bak, err)
	}
	// VACUUM INTO accepts an existing empty file and keeps its mode.
	f, err := os.OpenFile(bak, os.O_CREATE|os.O_EXCL|os.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create backup %s: %w", bak, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create backup %s: %w", bak, err)
	}
	if _, err := d.conn().ExecContext(ctx, `VACUUM INTO ?`, bak); err != nil {
		_ = os.Remove(bak)
		return fmt.Errorf("back up the database to %s before the schema update: %w", bak, err)
	}
	return nil
}
