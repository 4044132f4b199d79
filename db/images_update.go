package db

import (
	"context"
	"database/sql"
	"fmt"

	"lite/client/api"
)

// UpdateImage replaces an image's writable fields.
func (d *DB) UpdateImage(ctx context.Context, fp string, props map[string]string, public, autoUpdate bool, expires sql.NullTime) error {
	p, err := toJSON(props)
	if err != nil {
		return err
	}
	var exp any
	if expires.Valid {
		exp = expires.Time.UTC()
	}
	res, err := d.conn().ExecContext(ctx, `UPDATE images SET properties = ?, public = ?, auto_update = ?, expires_at = ? WHERE fingerprint = ?`,
		p, public, autoUpdate, exp, fp)
	if err != nil {
		return fmt.Errorf("update image %s: %w", fp, mapErr(err))
	}
	return affected(res, fmt.Errorf("image %s: %w", fp, api.ErrNotFound))
}

// CreateAlias adds an alias pointing at the image with the full fingerprint target.
func (d *DB) CreateAlias(ctx context.Context, a Alias) error {
	res, err := d.conn().ExecContext(ctx, `INSERT INTO images_aliases (name, image_id, description) SELECT ?, id, ? FROM images WHERE fingerprint = ?`,
		a.Name, a.Description, a.Target)
	if err != nil {
		return fmt.Errorf("alias %q: %w", a.Name, mapErr(err))
	}
	return affected(res, fmt.Errorf("alias %q: image %s: %w", a.Name, a.Target, api.ErrNotFound))
}

// UpdateAlias points an alias at another image (full fingerprint) with a new description.
func (d *DB) UpdateAlias(ctx context.Context, a Alias) error {
	return d.Tx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM images WHERE fingerprint = ?`, a.Target).Scan(&id); err != nil {
			return fmt.Errorf("alias %q: image %s: %w", a.Name, a.Target, mapErr(err))
		}
		res, err := tx.ExecContext(ctx, `UPDATE images_aliases SET image_id = ?, description = ? WHERE name = ?`, id, a.Description, a.Name)
		if err != nil {
			return fmt.Errorf("alias %q: %w", a.Name, mapErr(err))
		}
		return affected(res, fmt.Errorf("image alias %q: %w", a.Name, api.ErrNotFound))
	})
}

// RenameAlias renames an alias; the new name must be free.
func (d *DB) RenameAlias(ctx context.Context, from, to string) error {
	res, err := d.conn().ExecContext(ctx, `UPDATE images_aliases SET name = ? WHERE name = ?`, to, from)
	if err != nil {
		return fmt.Errorf("alias %q: %w", to, mapErr(err))
	}
	return affected(res, fmt.Errorf("image alias %q: %w", from, api.ErrNotFound))
}

// DeleteAlias removes an alias.
func (d *DB) DeleteAlias(ctx context.Context, name string) error {
	res, err := d.conn().ExecContext(ctx, `DELETE FROM images_aliases WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete alias %q: %w", name, mapErr(err))
	}
	return affected(res, fmt.Errorf("image alias %q: %w", name, api.ErrNotFound))
}

// ImageUsers returns the names of the instances created from the image fp.
func (d *DB) ImageUsers(ctx context.Context, fp string) ([]string, error) {
	return queryNames(ctx, d.conn(), "image "+fp+" users", `SELECT i.name FROM instances i JOIN instances_config c ON c.instance_id = i.id WHERE c.key = 'volatile.base_image' AND c.value = ? ORDER BY i.name`, fp)
}
