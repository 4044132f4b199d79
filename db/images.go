package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"lite/client/api"
)

// Image is an image row with its aliases.
type Image struct {
	ID           int64
	Fingerprint  string
	Filename     string
	Size         int64
	Architecture string
	Type         string
	Public       bool
	AutoUpdate   bool
	Cached       bool
	Properties   map[string]string
	CreatedAt    time.Time
	UploadedAt   time.Time
	LastUsedAt   sql.NullTime
	ExpiresAt    sql.NullTime
	Aliases      []Alias
}

// Alias names an image.
type Alias struct {
	Name        string
	Description string
	Target      string // full fingerprint
}

// CreateImage inserts an image and its aliases in one transaction.
func (d *DB) CreateImage(ctx context.Context, img Image) error {
	props, err := toJSON(img.Properties)
	if err != nil {
		return err
	}
	return d.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO images (fingerprint, filename, size, architecture, type, public, auto_update, cached, properties, created_at, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			img.Fingerprint, img.Filename, img.Size, img.Architecture, img.Type, img.Public, img.AutoUpdate, img.Cached, props, img.CreatedAt.UTC(), img.UploadedAt.UTC())
		if err != nil {
			return fmt.Errorf("image %s: %w", img.Fingerprint, mapErr(err))
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for _, a := range img.Aliases {
			if _, err := tx.ExecContext(ctx, `INSERT INTO images_aliases (name, image_id, description) VALUES (?, ?, ?)`, a.Name, id, a.Description); err != nil {
				return fmt.Errorf("alias %q: %w", a.Name, mapErr(err))
			}
		}
		return nil
	})
}

// GetImage finds an image by full fingerprint or a unique prefix of it.
func (d *DB) GetImage(ctx context.Context, prefix string) (Image, error) {
	prefix = strings.ToLower(prefix)
	if prefix == "" || strings.Trim(prefix, "0123456789abcdef") != "" {
		return Image{}, fmt.Errorf("image %q: %w", prefix, api.ErrNotFound)
	}
	list, err := d.images(ctx, `WHERE fingerprint LIKE ? ORDER BY fingerprint LIMIT 2`, prefix+"%")
	if err != nil {
		return Image{}, err
	}
	switch len(list) {
	case 0:
		return Image{}, fmt.Errorf("image %q: %w", prefix, api.ErrNotFound)
	case 1:
		return list[0], nil
	}
	return Image{}, fmt.Errorf("image prefix %q matches more than one image, give more of the fingerprint: %w", prefix, api.ErrInvalid)
}

// GetAlias returns the alias with that name.
func (d *DB) GetAlias(ctx context.Context, name string) (Alias, error) {
	var a Alias
	err := d.conn().QueryRowContext(ctx, `SELECT a.name, a.description, i.fingerprint FROM images_aliases a JOIN images i ON i.id = a.image_id WHERE a.name = ?`, name).
		Scan(&a.Name, &a.Description, &a.Target)
	if err != nil {
		return Alias{}, fmt.Errorf("image alias %q: %w", name, mapErr(err))
	}
	return a, nil
}

// ListImages returns every image with its aliases.
func (d *DB) ListImages(ctx context.Context) ([]Image, error) {
	return d.images(ctx, `ORDER BY uploaded_at`)
}

// ListAliases returns every alias.
func (d *DB) ListAliases(ctx context.Context) ([]Alias, error) {
	rows, err := d.conn().QueryContext(ctx, `SELECT a.name, a.description, i.fingerprint FROM images_aliases a JOIN images i ON i.id = a.image_id ORDER BY a.name`)
	if err != nil {
		return nil, fmt.Errorf("list aliases: %w", err)
	}
	defer rows.Close()
	out := []Alias{}
	for rows.Next() {
		var a Alias
		if err := rows.Scan(&a.Name, &a.Description, &a.Target); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// TouchImage records that an image was just used.
func (d *DB) TouchImage(ctx context.Context, fp string, at time.Time) error {
	_, err := d.conn().ExecContext(ctx, `UPDATE images SET last_used_at = ? WHERE fingerprint = ?`, at.UTC(), fp)
	return err
}

// DeleteImage removes an image and its aliases.
func (d *DB) DeleteImage(ctx context.Context, fp string) error {
	res, err := d.conn().ExecContext(ctx, `DELETE FROM images WHERE fingerprint = ?`, fp)
	if err != nil {
		return fmt.Errorf("delete image %s: %w", fp, mapErr(err))
	}
	if err := affected(res, fmt.Errorf("image %s: %w", fp, api.ErrNotFound)); err != nil {
		return err
	}
	return nil
}

func (d *DB) images(ctx context.Context, where string, args ...any) ([]Image, error) {
	rows, err := d.conn().QueryContext(ctx, `SELECT id, fingerprint, filename, size, architecture, type, public, auto_update, cached, properties, created_at, uploaded_at, last_used_at, expires_at FROM images `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var out []Image
	for rows.Next() {
		var img Image
		var props string
		if err := rows.Scan(&img.ID, &img.Fingerprint, &img.Filename, &img.Size, &img.Architecture, &img.Type, &img.Public, &img.AutoUpdate, &img.Cached, &props, &img.CreatedAt, &img.UploadedAt, &img.LastUsedAt, &img.ExpiresAt); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("read image: %w", err)
		}
		if img.Properties, err = configFrom(props); err != nil {
			_ = rows.Close()
			return nil, err
		}
		out = append(out, img)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	aliases, err := d.ListAliases(ctx)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Aliases = []Alias{}
		for _, a := range aliases {
			if a.Target == out[i].Fingerprint {
				out[i].Aliases = append(out[i].Aliases, a)
			}
		}
	}
	return out, nil
}
