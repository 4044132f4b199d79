package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// dbFile is lited's database inside LITE_DIR.
const dbFile = "lite.db"

// checkDatabasePresent refuses to start on a LITE_DIR whose database is missing or empty
// while containers/ or images/ hold entries: a new empty database would make the image sweep
// delete every image layer, the lower layer of running containers included, and Recover
// delete every container directory. Nothing is touched; the message says what to do.
func checkDatabasePresent(dir string) error {
	path := filepath.Join(dir, dbFile)
	st, err := os.Lstat(path)
	state := ""
	switch {
	case errors.Is(err, fs.ErrNotExist):
		state = "missing"
	case err != nil:
		return fmt.Errorf("check database %s: %w", path, err)
	case !st.Mode().IsRegular():
		return fmt.Errorf("database %s is not a regular file (%s): move it away", path, st.Mode().Type())
	case st.Size() == 0:
		state = "empty"
	default:
		return nil
	}
	var held []string
	for _, sub := range []string{"containers", "images"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("check %s: %w", sub, err)
		}
		if len(entries) > 0 {
			held = append(held, fmt.Sprintf("%s/ (%d entries)", sub, len(entries)))
		}
	}
	if len(held) == 0 {
		return nil
	}
	baks, _ := filepath.Glob(path + ".bak.*")
	hint := "restore lite.db from a backup"
	if len(baks) > 0 {
		hint = fmt.Sprintf("restore lite.db from a backup (a schema update left %s)", strings.Join(baks, ", "))
	}
	return fmt.Errorf("database %s is %s but %s hold state: refusing to start, since an empty database would delete them. To recover, %s; to start afresh, move %s/containers and %s/images away first (stop their containers with lxc-stop -P %s/containers)",
		path, state, strings.Join(held, " and "), hint, dir, dir, dir)
}

// securePermissions makes LITE_DIR 0711 and the files that hold secrets 0600: the database
// (every config value, environment.* included), its WAL files and backups, and each
// container's lxc config and console log (what the guest printed). It fixes and logs what
// it finds wrong, at every start.
func securePermissions(dir string, log *slog.Logger) error {
	if err := fixMode(dir, 0o711, log); err != nil {
		return err
	}
	files := []string{}
	for _, pat := range []string{dbFile, dbFile + "-wal", dbFile + "-shm", dbFile + ".bak.*",
		"containers/*/config", "containers/*/console.log*"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return err
		}
		files = append(files, m...)
	}
	for _, f := range files {
		if err := fixMode(f, 0o600, log); err != nil {
			return err
		}
	}
	return nil
}

// fixMode sets path's permission bits to want when they differ (never through a symlink).
func fixMode(path string, want fs.FileMode, log *slog.Logger) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check mode of %s: %w", path, err)
	}
	if st.Mode()&fs.ModeSymlink != 0 || st.Mode().Perm() == want {
		return nil
	}
	if err := os.Chmod(path, want); err != nil {
		return fmt.Errorf("chmod %04o %s: %w", want, path, err)
	}
	log.Warn("fixed permissions of a state file", "path", path, "from", fmt.Sprintf("%04o", st.Mode().Perm()), "to", fmt.Sprintf("%04o", want))
	return nil
}
