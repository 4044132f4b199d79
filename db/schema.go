package db

import (
	"context"
	"database/sql"
	"fmt"
)

// updates are the schema changes, in order. They are append-only: never edit a released one,
// add a new one. Update N brings the schema from version N to N+1.
var updates = []func(ctx context.Context, tx *sql.Tx) error{
	update0,
	update1,
	updateNetworks,
	updateSnapshots,
	updateInstanceNamesNocase,
	updateDefaultProcessLimit,
	updateLabs,
	updateCertificates,
	updateCluster,
}

func update0(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `
CREATE TABLE instances (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	name          TEXT NOT NULL UNIQUE,
	type          TEXT NOT NULL DEFAULT 'container',
	architecture  TEXT NOT NULL,
	description   TEXT NOT NULL DEFAULT '',
	ephemeral     INTEGER NOT NULL DEFAULT 0,
	config        TEXT NOT NULL DEFAULT '{}',
	devices       TEXT NOT NULL DEFAULT '{}',
	created_at    DATETIME NOT NULL,
	last_used_at  DATETIME NOT NULL
);
CREATE TABLE profiles (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	name         TEXT NOT NULL UNIQUE,
	description  TEXT NOT NULL DEFAULT '',
	config       TEXT NOT NULL DEFAULT '{}',
	devices      TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE instances_profiles (
	instance_id  INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	profile_id   INTEGER NOT NULL REFERENCES profiles(id) ON DELETE RESTRICT,
	apply_order  INTEGER NOT NULL,
	PRIMARY KEY (instance_id, profile_id)
);
CREATE TABLE images (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	fingerprint   TEXT NOT NULL UNIQUE,
	filename      TEXT NOT NULL DEFAULT '',
	size          INTEGER NOT NULL,
	architecture  TEXT NOT NULL,
	type          TEXT NOT NULL DEFAULT 'container',
	public        INTEGER NOT NULL DEFAULT 0,
	auto_update   INTEGER NOT NULL DEFAULT 0,
	cached        INTEGER NOT NULL DEFAULT 0,
	properties    TEXT NOT NULL DEFAULT '{}',
	created_at    DATETIME NOT NULL,
	uploaded_at   DATETIME NOT NULL,
	last_used_at  DATETIME,
	expires_at    DATETIME
);
CREATE TABLE images_aliases (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	name         TEXT NOT NULL UNIQUE,
	image_id     INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
	description  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE config (
	key    TEXT PRIMARY KEY,
	value  TEXT NOT NULL
);
INSERT INTO profiles (name, description, config, devices) VALUES
	('default', 'Default lite profile', '{}', '{"root":{"path":"/","pool":"default","type":"disk"}}');
`)
	return err
}

// updateNetworks adds managed networks (bridges with their dnsmasq and nft rules).
func updateNetworks(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `
CREATE TABLE networks (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	name         TEXT NOT NULL UNIQUE,
	description  TEXT NOT NULL DEFAULT '',
	type         TEXT NOT NULL DEFAULT 'bridge',
	config       TEXT NOT NULL DEFAULT '{}',
	status       TEXT NOT NULL DEFAULT 'Created'
);
`)
	return err
}

// update applies the missing schema updates, each in its own transaction with the version bump.
// A database that already has a schema is copied to path.bak.VERSION first.
func (d *DB) update(ctx context.Context, path string) error {
	if _, err := d.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}
	var version int
	err := d.sql.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version)
	if err == sql.ErrNoRows {
		if _, err := d.sql.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return fmt.Errorf("init schema_version: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(updates) {
		return fmt.Errorf("database schema version %d is newer than this lited knows (%d): upgrade lited", version, len(updates))
	}
	if version > 0 && version < len(updates) {
		if err := d.backupBeforeUpdate(ctx, path, version); err != nil {
			return err
		}
	}
	for v := version; v < len(updates); v++ {
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			if err := updates[v](ctx, tx); err != nil {
				return fmt.Errorf("schema update %d: %w", v, err)
			}
			_, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, v+1)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Schema returns the current schema as SQL text, for the checked-in schema test.
func (d *DB) Schema(ctx context.Context) (string, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type, name`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	out := ""
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return "", err
		}
		out += s + ";\n"
	}
	return out, rows.Err()
}
