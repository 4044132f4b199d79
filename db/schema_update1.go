package db

import (
	"context"
	"database/sql"
)

// update1 moves config and devices out of the JSON columns of instances and profiles into
// tables of their own (one row per key, per device, per device key), with foreign keys that
// cascade when the owner goes, and drops the JSON columns.
func update1(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `
CREATE TABLE instances_config (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	instance_id  INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	key          TEXT NOT NULL,
	value        TEXT NOT NULL,
	UNIQUE (instance_id, key)
);
CREATE TABLE instances_devices (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	instance_id  INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	type         TEXT NOT NULL,
	UNIQUE (instance_id, name)
);
CREATE TABLE instances_devices_config (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	device_id  INTEGER NOT NULL REFERENCES instances_devices(id) ON DELETE CASCADE,
	key        TEXT NOT NULL,
	value      TEXT NOT NULL,
	UNIQUE (device_id, key)
);
CREATE TABLE profiles_config (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	profile_id  INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
	key         TEXT NOT NULL,
	value       TEXT NOT NULL,
	UNIQUE (profile_id, key)
);
CREATE TABLE profiles_devices (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	profile_id  INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	type        TEXT NOT NULL,
	UNIQUE (profile_id, name)
);
CREATE TABLE profiles_devices_config (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	device_id  INTEGER NOT NULL REFERENCES profiles_devices(id) ON DELETE CASCADE,
	key        TEXT NOT NULL,
	value      TEXT NOT NULL,
	UNIQUE (device_id, key)
);

INSERT INTO instances_config (instance_id, key, value)
	SELECT i.id, j.key, CAST(j.value AS TEXT) FROM instances i, json_each(i.config) j;
INSERT INTO instances_devices (instance_id, name, type)
	SELECT i.id, j.key, COALESCE(json_extract(j.value, '$.type'), '') FROM instances i, json_each(i.devices) j;
INSERT INTO instances_devices_config (device_id, key, value)
	SELECT d.id, k.key, CAST(k.value AS TEXT)
	FROM instances i, json_each(i.devices) j, json_each(j.value) k
	JOIN instances_devices d ON d.instance_id = i.id AND d.name = j.key
	WHERE k.key != 'type';
INSERT INTO profiles_config (profile_id, key, value)
	SELECT p.id, j.key, CAST(j.value AS TEXT) FROM profiles p, json_each(p.config) j;
INSERT INTO profiles_devices (profile_id, name, type)
	SELECT p.id, j.key, COALESCE(json_extract(j.value, '$.type'), '') FROM profiles p, json_each(p.devices) j;
INSERT INTO profiles_devices_config (device_id, key, value)
	SELECT d.id, k.key, CAST(k.value AS TEXT)
	FROM profiles p, json_each(p.devices) j, json_each(j.value) k
	JOIN profiles_devices d ON d.profile_id = p.id AND d.name = j.key
	WHERE k.key != 'type';

ALTER TABLE instances DROP COLUMN config;
ALTER TABLE instances DROP COLUMN devices;
ALTER TABLE profiles DROP COLUMN config;
ALTER TABLE profiles DROP COLUMN devices;
`)
	return err
}
