package instance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"lite/client/api"
	"lite/lxd-lite/atomicfile"
	"lite/profiles"
)

// Stored backups (LXD's /1.0/instances/NAME/backups): each is the tarball Export writes,
// containers/NAME/backups/B.tar, with B.json (its api.InstanceBackup) beside it, both 0600 in
// a 0700 dir; they follow the instance's rename and go with its delete. Expired backups are
// removed whenever the list is read.

// Backups exports instances to backup tarballs, keeps stored backups, and imports a backup
// as a new instance.
type Backups struct{ *core }

var backupMu sync.Mutex

func (m *Backups) backupDir(name string) string { return filepath.Join(m.Dir(name), "backups") }

// BackupURL is a backup's API URL.
func BackupURL(name, backup string) string { return URL(name) + "/backups/" + backup }

func validBackupName(b string) error {
	if err := profiles.ValidateSnapshotName(b); err != nil {
		return fmt.Errorf("backup name (same rules as a snapshot name): %w", err)
	}
	return nil
}

// Backups lists an instance's backups, oldest first.
func (m *Backups) Backups(ctx context.Context, name string) ([]api.InstanceBackup, error) {
	if _, err := m.db.GetInstance(ctx, name); err != nil {
		return nil, err
	}
	backupMu.Lock()
	defer backupMu.Unlock()
	return m.backups(name)
}

func (m *Backups) backups(name string) ([]api.InstanceBackup, error) {
	dir := m.backupDir(name)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []api.InstanceBackup{}, nil
	}
	if err != nil {
		return nil, err
	}
	list := []api.InstanceBackup{}
	for _, e := range ents {
		b, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(b, ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		var bk api.InstanceBackup
		if err := json.Unmarshal(data, &bk); err != nil || bk.Name != b {
			continue // not one lited wrote
		}
		if !bk.ExpiresAt.IsZero() && bk.ExpiresAt.Before(time.Now()) {
			_ = os.Remove(filepath.Join(dir, b+".tar"))
			_ = os.Remove(filepath.Join(dir, b+".json"))
			continue
		}
		list = append(list, bk)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].CreatedAt.Before(list[j].CreatedAt) })
	return list, nil
}

// Backup returns one backup.
func (m *Backups) Backup(ctx context.Context, name, backup string) (api.InstanceBackup, error) {
	list, err := m.Backups(ctx, name)
	if err != nil {
		return api.InstanceBackup{}, err
	}
	for _, b := range list {
		if b.Name == backup {
			return b, nil
		}
	}
	return api.InstanceBackup{}, fmt.Errorf("backup %q of instance %q: %w", backup, name, api.ErrNotFound)
}

// CheckBackupRequest refuses what lite's backups do not do, before an operation starts.
func CheckBackupRequest(req api.InstanceBackupsPost) error {
	if req.Name != "" {
		if err := validBackupName(req.Name); err != nil {
			return err
		}
	}
	if req.OptimizedStorage {
		return fmt.Errorf("optimized_storage backups are not supported by lite (drop --optimized-storage): %w", api.ErrInvalid)
	}
	if c := req.CompressionAlgorithm; c != "" && c != "gzip" {
		return fmt.Errorf("compression_algorithm %q is not supported: lite's backup is a tar of gzip-compressed parts (drop --compression): %w", c, api.ErrInvalid)
	}
	return nil
}

// CreateBackup writes a new backup of an instance and returns its name.
func (m *Backups) CreateBackup(ctx context.Context, name string, req api.InstanceBackupsPost) (string, error) {
	if err := CheckBackupRequest(req); err != nil {
		return "", err
	}
	dir := m.backupDir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	only := req.InstanceOnly || req.ContainerOnly
	err = m.Export(ctx, name, ExportOptions{InstanceOnly: only}, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("back up instance %q: %w", name, err)
	}
	backupMu.Lock()
	defer backupMu.Unlock()
	list, err := m.backups(name)
	if err != nil {
		return "", err
	}
	b := req.Name
	if b == "" {
		b = freeBackupName(list)
	}
	for _, x := range list {
		if x.Name == b {
			return "", fmt.Errorf("backup %q of instance %q already exists: %w", b, name, api.ErrAlreadyExists)
		}
	}
	bk := api.InstanceBackup{Name: b, CreatedAt: time.Now().UTC(), ExpiresAt: req.ExpiresAt, InstanceOnly: only, ContainerOnly: only}
	if err := os.Rename(f.Name(), filepath.Join(dir, b+".tar")); err != nil {
		return "", err
	}
	if err := writeBackupInfo(dir, bk); err != nil {
		_ = os.Remove(filepath.Join(dir, b+".tar"))
		return "", err
	}
	return b, nil
}

func freeBackupName(list []api.InstanceBackup) string {
	used := map[string]bool{}
	for _, b := range list {
		used[b.Name] = true
	}
	for i := 0; ; i++ {
		if n := fmt.Sprintf("backup%d", i); !used[n] {
			return n
		}
	}
}

func writeBackupInfo(dir string, bk api.InstanceBackup) error {
	data, err := json.Marshal(bk)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, bk.Name+".json"), data, 0o600)
}

// RenameBackup renames a backup.
func (m *Backups) RenameBackup(ctx context.Context, name, backup, newName string) error {
	if err := validBackupName(newName); err != nil {
		return err
	}
	bk, err := m.Backup(ctx, name, backup)
	if err != nil {
		return err
	}
	backupMu.Lock()
	defer backupMu.Unlock()
	dir := m.backupDir(name)
	if _, err := os.Lstat(filepath.Join(dir, newName+".json")); err == nil {
		return fmt.Errorf("backup %q of instance %q already exists: %w", newName, name, api.ErrAlreadyExists)
	}
	if err := os.Rename(filepath.Join(dir, backup+".tar"), filepath.Join(dir, newName+".tar")); err != nil {
		return err
	}
	bk.Name = newName
	if err := writeBackupInfo(dir, bk); err != nil {
		_ = os.Rename(filepath.Join(dir, newName+".tar"), filepath.Join(dir, backup+".tar"))
		return err
	}
	return os.Remove(filepath.Join(dir, backup+".json"))
}

// DeleteBackup removes a backup.
func (m *Backups) DeleteBackup(ctx context.Context, name, backup string) error {
	if _, err := m.Backup(ctx, name, backup); err != nil {
		return err
	}
	backupMu.Lock()
	defer backupMu.Unlock()
	dir := m.backupDir(name)
	if err := os.Remove(filepath.Join(dir, backup+".json")); err != nil {
		return err
	}
	return os.Remove(filepath.Join(dir, backup+".tar"))
}

// OpenBackup opens a backup's tarball.
func (m *Backups) OpenBackup(ctx context.Context, name, backup string) (*os.File, error) {
	if _, err := m.Backup(ctx, name, backup); err != nil {
		return nil, err
	}
	return os.Open(filepath.Join(m.backupDir(name), backup+".tar"))
}
