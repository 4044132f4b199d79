package db

import (
	"context"
	"fmt"
)

// Profile is a profile row.
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
	var cfg, devs string
	err := d.sql.QueryRowContext(ctx, `SELECT id, name, description, config, devices FROM profiles WHERE name = ?`, name).
		Scan(&p.ID, &p.Name, &p.Description, &cfg, &devs)
	if err != nil {
		return Profile{}, fmt.Errorf("profile %q: %w", name, mapErr(err))
	}
	if p.Config, err = configFrom(cfg); err != nil {
		return Profile{}, err
	}
	if p.Devices, err = devicesFrom(devs); err != nil {
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

// ProfileUsedBy lists the names of the instances using a profile.
func (d *DB) ProfileUsedBy(ctx context.Context, name string) ([]string, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT i.name FROM instances i JOIN instances_profiles ip ON ip.instance_id = i.id JOIN profiles p ON p.id = ip.profile_id WHERE p.name = ? ORDER BY i.name`, name)
	if err != nil {
		return nil, fmt.Errorf("profile %q users: %w", name, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ListProfileNames returns every profile's name.
func (d *DB) ListProfileNames(ctx context.Context) ([]string, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT name FROM profiles ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list profiles: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
