package db

import (
	"context"
	"database/sql"
	"fmt"
)

// nameClashMessage is the message of the triggers below; mapErr turns it into
// api.ErrAlreadyExists.
const nameClashMessage = "instance name already exists (names are unique without regard to case)"

// updateInstanceNamesNocase makes instance names unique without regard to case, as DNS names
// are (web.lite must not resolve to WEB). It uses triggers rather than a unique index so that
// a database that already holds names differing only in case keeps opening: those rows stay,
// and only new names and renames are checked.
func updateInstanceNamesNocase(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, fmt.Sprintf(`
CREATE TRIGGER instances_name_nocase_insert BEFORE INSERT ON instances
WHEN EXISTS (SELECT 1 FROM instances WHERE name = NEW.name COLLATE NOCASE)
BEGIN
	SELECT RAISE(ABORT, '%[1]s');
END;
CREATE TRIGGER instances_name_nocase_rename BEFORE UPDATE OF name ON instances
WHEN EXISTS (SELECT 1 FROM instances WHERE name = NEW.name COLLATE NOCASE AND id != NEW.id)
BEGIN
	SELECT RAISE(ABORT, '%[1]s');
END;
`, nameClashMessage))
	return err
}

// DefaultProcessLimit is limits.processes of the default profile: finite, so that one fork bomb
// cannot take every pid of the host, and far above what a systemd container needs (a Debian
// container runs about 30 tasks; a busy database or JVM a few hundred to a few thousand).
const DefaultProcessLimit = "10000"

// updateDefaultProcessLimit gives the default profile limits.processes, unless it sets one.
func updateDefaultProcessLimit(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `
INSERT INTO profiles_config (profile_id, key, value)
	SELECT p.id, 'limits.processes', ? FROM profiles p
	WHERE p.name = 'default' AND NOT EXISTS (
		SELECT 1 FROM profiles_config c WHERE c.profile_id = p.id AND c.key = 'limits.processes')`, DefaultProcessLimit)
	return err
}

// InstanceNameClash returns the name of another instance whose name equals name without
// regard to case ("" if none). except is the instance being renamed, which may change the
// case of its own name.
func (d *DB) InstanceNameClash(ctx context.Context, name, except string) (string, error) {
	var other string
	err := d.conn().QueryRowContext(ctx, `SELECT name FROM instances WHERE name = ? COLLATE NOCASE AND name != ? LIMIT 1`, name, except).Scan(&other)
	if err == sql.ErrNoRows {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up instance %q: %w", name, err)
	}
	return other, nil
}
