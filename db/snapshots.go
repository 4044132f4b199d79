package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"lite/client/api"
)

// Snapshot is a snapshot row: the instance's config, devices and profiles when it was taken.
// Profiles are kept by name in apply order (a JSON list), so a later profile edit does not
// change what a restore brings back beyond the profile's own content.
type Snapshot struct {
	ID          int64
	Instance    string
	Name        string
	Description string
	Ephemeral   bool
	Config      map[string]string
	Devices     map[string]map[string]string
	Profiles    []string
	CreatedAt   time.Time
	ExpiresAt   time.Time // zero: never
}

// updateSnapshots adds the snapshots table; rows go with their instance.
func updateSnapshots(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `
CREATE TABLE instances_snapshots (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	instance_id  INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	description  TEXT NOT NULL DEFAULT '',
	ephemeral    INTEGER NOT NULL DEFAULT 0,
	config       TEXT NOT NULL DEFAULT '{}',
	devices      TEXT NOT NULL DEFAULT '{}',
	profiles     TEXT NOT NULL DEFAULT '[]',
	created_at   DATETIME NOT NULL,
	expires_at   DATETIME,
	UNIQUE (instance_id, name)
);`)
	return err
}

// CreateSnapshot inserts a snapshot row of an existing instance.
func (d *DB) CreateSnapshot(ctx context.Context, s Snapshot) error {
	cfg, err := toJSON(s.Config)
	if err != nil {
		return err
	}
	devs, err := toJSON(s.Devices)
	if err != nil {
		return err
	}
	profs, err := toJSON(s.Profiles)
	if err != nil {
		return err
	}
	var expires any
	if !s.ExpiresAt.IsZero() {
		expires = s.ExpiresAt.UTC()
	}
	res, err := d.conn().ExecContext(ctx, `INSERT INTO instances_snapshots (instance_id, name, description, ephemeral, config, devices, profiles, created_at, expires_at)
SELECT id, ?, ?, ?, ?, ?, ?, ?, ? FROM instances WHERE name = ?`,
		s.Name, s.Description, s.Ephemeral, cfg, devs, profs, s.CreatedAt.UTC(), expires, s.Instance)
	if err != nil {
		return fmt.Errorf("snapshot %q of %q: %w", s.Name, s.Instance, mapErr(err))
	}
	return affected(res, fmt.Errorf("instance %q: %w", s.Instance, api.ErrNotFound))
}

// GetSnapshot returns one snapshot of an instance.
func (d *DB) GetSnapshot(ctx context.Context, instance, name string) (Snapshot, error) {
	list, err := d.snapshots(ctx, `AND s.name = ?`, instance, name)
	if err != nil {
		return Snapshot{}, err
	}
	if len(list) == 0 {
		return Snapshot{}, fmt.Errorf("snapshot %q of instance %q: %w", name, instance, api.ErrNotFound)
	}
	return list[0], nil
}

// ListSnapshots returns an instance's snapshots, oldest first.
func (d *DB) ListSnapshots(ctx context.Context, instance string) ([]Snapshot, error) {
	return d.snapshots(ctx, ``, instance)
}

// SnapshotsByInstance returns every instance's snapshots, oldest first, in one query (what a
// list of instances shows).
func (d *DB) SnapshotsByInstance(ctx context.Context) (map[string][]Snapshot, error) {
	list, err := d.snapshotRows(ctx, `1 = 1`, "every instance")
	if err != nil {
		return nil, err
	}
	out := map[string][]Snapshot{}
	for _, s := range list {
		out[s.Instance] = append(out[s.Instance], s)
	}
	return out, nil
}

func (d *DB) snapshots(ctx context.Context, where string, instance string, args ...any) ([]Snapshot, error) {
	return d.snapshotRows(ctx, `i.name = ? `+where, fmt.Sprintf("%q", instance), append([]any{instance}, args...)...)
}

// snapshotRows reads the snapshots filter selects (of what, for errors).
func (d *DB) snapshotRows(ctx context.Context, filter, of string, args ...any) ([]Snapshot, error) {
	q := `SELECT s.id, i.name, s.name, s.description, s.ephemeral, s.config, s.devices, s.profiles, s.created_at, s.expires_at
FROM instances_snapshots s JOIN instances i ON i.id = s.instance_id WHERE ` + filter + ` ORDER BY s.created_at, s.id`
	rows, err := d.conn().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list snapshots of %s: %w", of, err)
	}
	defer rows.Close()
	out := []Snapshot{}
	for rows.Next() {
		var s Snapshot
		var cfg, devs, profs string
		var expires sql.NullTime
		if err := rows.Scan(&s.ID, &s.Instance, &s.Name, &s.Description, &s.Ephemeral, &cfg, &devs, &profs, &s.CreatedAt, &expires); err != nil {
			return nil, fmt.Errorf("read snapshot: %w", err)
		}
		if s.Config, err = configFrom(cfg); err != nil {
			return nil, err
		}
		if s.Devices, err = devicesFrom(devs); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(profs), &s.Profiles); err != nil {
			return nil, fmt.Errorf("decode snapshot profiles: %w", err)
		}
		if s.Profiles == nil {
			s.Profiles = []string{}
		}
		if expires.Valid {
			s.ExpiresAt = expires.Time
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// RenameSnapshot renames one snapshot of an instance.
func (d *DB) RenameSnapshot(ctx context.Context, instance, name, newName string) error {
	res, err := d.conn().ExecContext(ctx, `UPDATE instances_snapshots SET name = ? WHERE name = ? AND instance_id = (SELECT id FROM instances WHERE name = ?)`, newName, name, instance)
	if err != nil {
		return fmt.Errorf("snapshot %q of %q: %w", newName, instance, mapErr(err))
	}
	return affected(res, fmt.Errorf("snapshot %q of instance %q: %w", name, instance, api.ErrNotFound))
}

// SetSnapshotExpiry changes when a snapshot expires (zero: never).
func (d *DB) SetSnapshotExpiry(ctx context.Context, instance, name string, at time.Time) error {
	var expires any
	if !at.IsZero() {
		expires = at.UTC()
	}
	res, err := d.conn().ExecContext(ctx, `UPDATE instances_snapshots SET expires_at = ? WHERE name = ? AND instance_id = (SELECT id FROM instances WHERE name = ?)`, expires, name, instance)
	if err != nil {
		return fmt.Errorf("snapshot %q of %q: %w", name, instance, mapErr(err))
	}
	return affected(res, fmt.Errorf("snapshot %q of instance %q: %w", name, instance, api.ErrNotFound))
}

// DeleteSnapshot removes one snapshot row.
func (d *DB) DeleteSnapshot(ctx context.Context, instance, name string) error {
	res, err := d.conn().ExecContext(ctx, `DELETE FROM instances_snapshots WHERE name = ? AND instance_id = (SELECT id FROM instances WHERE name = ?)`, name, instance)
	if err != nil {
		return fmt.Errorf("delete snapshot %q of %q: %w", name, instance, mapErr(err))
	}
	return affected(res, fmt.Errorf("snapshot %q of instance %q: %w", name, instance, api.ErrNotFound))
}

// RenameInstance renames an instance row; its snapshots and profile links follow by id.
func (d *DB) RenameInstance(ctx context.Context, name, newName string) error {
	res, err := d.conn().ExecContext(ctx, `UPDATE instances SET name = ? WHERE name = ?`, newName, name)
	if err != nil {
		return fmt.Errorf("instance %q: %w", newName, mapErr(err))
	}
	return affected(res, fmt.Errorf("instance %q: %w", name, api.ErrNotFound))
}
