package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"lite/client/api"
)

// Profile is a profile row with its config and devices.
type Profile struct {
	ID          int64
	Name        string
	Description string
	Config      map[string]string
	Devices     map[string]map[string]string
}

// GetProfile returns one profile by name.
func (d *DB) GetProfile(ctx context.Context, name string) (Profile, error) {
	var p Profile
	err := d.conn().QueryRowContext(ctx, `SELECT id, name, description FROM profiles WHERE name = ?`, name).
		Scan(&p.ID, &p.Name, &p.Description)
	if err != nil {
		return Profile{}, fmt.Errorf("profile %q: %w", name, mapErr(err))
	}
	if p.Config, err = profileTables.loadConfig(ctx, d.conn(), p.ID); err != nil {
		return Profile{}, err
	}
	if p.Devices, err = profileTables.loadDevices(ctx, d.conn(), p.ID); err != nil {
		return Profile{}, err
	}
	return p, nil
}

// GetProfiles returns the named profiles in the order given; a missing one is ErrNotFound.
func (d *DB) GetProfiles(ctx context.Context, names []string) ([]Profile, error) {
	out := make([]Profile, 0, len(names))
	for _, n := range names {
		p, err := d.GetProfile(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// CreateProfile inserts a profile with its config and devices.
func (d *DB) CreateProfile(ctx context.Context, p Profile) error {
	return d.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO profiles (name, description) VALUES (?, ?)`, p.Name, p.Description)
		if err != nil {
			return fmt.Errorf("profile %q: %w", p.Name, mapErr(err))
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if err := profileTables.replace(ctx, tx, id, p.Config, p.Devices); err != nil {
			return fmt.Errorf("profile %q: %w", p.Name, err)
		}
		return nil
	})
}

// UpdateProfile replaces a profile's description, config and devices (found by name).
func (d *DB) UpdateProfile(ctx context.Context, p Profile) error {
	return d.Tx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM profiles WHERE name = ?`, p.Name).Scan(&id); err != nil {
			return fmt.Errorf("profile %q: %w", p.Name, mapErr(err))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE profiles SET description = ? WHERE id = ?`, p.Description, id); err != nil {
			return fmt.Errorf("profile %q: %w", p.Name, mapErr(err))
		}
		if err := profileTables.replace(ctx, tx, id, p.Config, p.Devices); err != nil {
			return fmt.Errorf("profile %q: %w", p.Name, err)
		}
		return nil
	})
}

// RenameProfile renames a profile; instances keep using it under the new name.
func (d *DB) RenameProfile(ctx context.Context, from, to string) error {
	res, err := d.conn().ExecContext(ctx, `UPDATE profiles SET name = ? WHERE name = ?`, to, from)
	if err != nil {
		return fmt.Errorf("rename profile %q to %q: %w", from, to, mapErr(err))
	}
	return affected(res, fmt.Errorf("profile %q: %w", from, api.ErrNotFound))
}

// DeleteProfile removes a profile that no instance uses; one in use is ErrConflict.
func (d *DB) DeleteProfile(ctx context.Context, name string) error {
	return d.Tx(ctx, func(tx *sql.Tx) error {
		users, err := profileUsers(ctx, tx, name)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return fmt.Errorf("profile %q is in use by %s: %w", name, strings.Join(users, ", "), api.ErrConflict)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM profiles WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("delete profile %q: %w", name, mapErr(err))
		}
		return affected(res, fmt.Errorf("profile %q: %w", name, api.ErrNotFound))
	})
}

// ProfileUsedBy lists the names of the instances using a profile.
func (d *DB) ProfileUsedBy(ctx context.Context, name string) ([]string, error) {
	return profileUsers(ctx, d.conn(), name)
}

func profileUsers(ctx context.Context, q queryer, name string) ([]string, error) {
	return queryNames(ctx, q, fmt.Sprintf("profile %q users", name), `SELECT i.name FROM instances i JOIN instances_profiles ip ON ip.instance_id = i.id JOIN profiles p ON p.id = ip.profile_id WHERE p.name = ? ORDER BY i.name`, name)
}

// ListProfileNames returns every profile's name.
func (d *DB) ListProfileNames(ctx context.Context) ([]string, error) {
	return queryNames(ctx, d.conn(), "list profiles", `SELECT name FROM profiles ORDER BY name`)
}
