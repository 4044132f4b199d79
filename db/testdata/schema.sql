CREATE TABLE certificates (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	fingerprint  TEXT NOT NULL UNIQUE,
	type         TEXT NOT NULL DEFAULT 'client',
	name         TEXT NOT NULL UNIQUE,
	certificate  TEXT NOT NULL,
	restricted   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE cluster_tokens (
	secret      TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	expires_at  DATETIME NOT NULL
);
CREATE TABLE config (
	key    TEXT PRIMARY KEY,
	value  TEXT NOT NULL
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
CREATE TABLE images_nodes (
	image_id  INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
	node      TEXT NOT NULL,
	PRIMARY KEY (image_id, node)
);
CREATE TABLE instances (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	name          TEXT NOT NULL UNIQUE,
	type          TEXT NOT NULL DEFAULT 'container',
	architecture  TEXT NOT NULL,
	description   TEXT NOT NULL DEFAULT '',
	ephemeral     INTEGER NOT NULL DEFAULT 0,
	created_at    DATETIME NOT NULL,
	last_used_at  DATETIME NOT NULL
, node TEXT NOT NULL DEFAULT '');
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
CREATE TABLE instances_profiles (
	instance_id  INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	profile_id   INTEGER NOT NULL REFERENCES profiles(id) ON DELETE RESTRICT,
	apply_order  INTEGER NOT NULL,
	PRIMARY KEY (instance_id, profile_id)
);
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
);
CREATE TABLE labs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	name        TEXT NOT NULL UNIQUE,
	source      TEXT NOT NULL,
	filename    TEXT NOT NULL DEFAULT '',
	files       TEXT NOT NULL DEFAULT '{}',
	ssh_keys    TEXT NOT NULL DEFAULT '[]',
	created_at  DATETIME NOT NULL
);
CREATE TABLE labs_nodes (
	lab_id       INTEGER NOT NULL REFERENCES labs(id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	provisioned  INTEGER NOT NULL DEFAULT 0,
	log          TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (lab_id, name)
);
CREATE TABLE networks (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	name         TEXT NOT NULL UNIQUE,
	description  TEXT NOT NULL DEFAULT '',
	type         TEXT NOT NULL DEFAULT 'bridge',
	config       TEXT NOT NULL DEFAULT '{}',
	status       TEXT NOT NULL DEFAULT 'Created'
);
CREATE TABLE nodes (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	name             TEXT NOT NULL UNIQUE,
	address          TEXT NOT NULL UNIQUE,
	db_address       TEXT NOT NULL DEFAULT '',
	architecture     TEXT NOT NULL DEFAULT '',
	description      TEXT NOT NULL DEFAULT '',
	heartbeat        DATETIME NOT NULL,
	created_at       DATETIME NOT NULL
);
CREATE TABLE profiles (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	name         TEXT NOT NULL UNIQUE,
	description  TEXT NOT NULL DEFAULT '');
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
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TRIGGER instances_name_nocase_insert BEFORE INSERT ON instances
WHEN EXISTS (SELECT 1 FROM instances WHERE name = NEW.name COLLATE NOCASE)
BEGIN
	SELECT RAISE(ABORT, 'instance name already exists (names are unique without regard to case)');
END;
CREATE TRIGGER instances_name_nocase_rename BEFORE UPDATE OF name ON instances
WHEN EXISTS (SELECT 1 FROM instances WHERE name = NEW.name COLLATE NOCASE AND id != NEW.id)
BEGIN
	SELECT RAISE(ABORT, 'instance name already exists (names are unique without regard to case)');
END;
