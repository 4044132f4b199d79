package db

import (
	"context"
	"database/sql"
	"fmt"

	"lite/client/api"
)

// Network is a managed network row.
type Network struct {
	ID          int64
	Name        string
	Description string
	Type        string
	Config      map[string]string
	Status      string
}

// CreateNetwork inserts a network.
func (d *DB) CreateNetwork(ctx context.Context, n Network) error {
	cfg, err := toJSON(n.Config)
	if err != nil {
		return err
	}
	if n.Status == "" {
		n.Status = "Created"
	}
	_, err = d.conn().ExecContext(ctx, `INSERT INTO networks (name, description, type, config, status) VALUES (?, ?, ?, ?, ?)`,
		n.Name, n.Description, n.Type, cfg, n.Status)
	if err != nil {
		return fmt.Errorf("network %q: %w", n.Name, mapErr(err))
	}
	return nil
}

// GetNetwork returns one network by name.
func (d *DB) GetNetwork(ctx context.Context, name string) (Network, error) {
	list, err := d.networks(ctx, `WHERE name = ?`, name)
	if err != nil {
		return Network{}, err
	}
	if len(list) == 0 {
		return Network{}, fmt.Errorf("network %q: %w", name, api.ErrNotFound)
	}
	return list[0], nil
}

// ListNetworks returns every network, by name.
func (d *DB) ListNetworks(ctx context.Context) ([]Network, error) {
	return d.networks(ctx, ``)
}

// UpdateNetwork replaces a network's description and config.
func (d *DB) UpdateNetwork(ctx context.Context, n Network) error {
	cfg, err := toJSON(n.Config)
	if err != nil {
		return err
	}
	res, err := d.conn().ExecContext(ctx, `UPDATE networks SET description = ?, config = ? WHERE name = ?`, n.Description, cfg, n.Name)
	if err != nil {
		return fmt.Errorf("network %q: %w", n.Name, mapErr(err))
	}
	return affected(res, fmt.Errorf("network %q: %w", n.Name, api.ErrNotFound))
}

// RenameNetwork renames a network.
func (d *DB) RenameNetwork(ctx context.Context, old, name string) error {
	res, err := d.conn().ExecContext(ctx, `UPDATE networks SET name = ? WHERE name = ?`, name, old)
	if err != nil {
		return fmt.Errorf("network %q: %w", name, mapErr(err))
	}
	return affected(res, fmt.Errorf("network %q: %w", old, api.ErrNotFound))
}

// DeleteNetwork removes a network row.
func (d *DB) DeleteNetwork(ctx context.Context, name string) error {
	res, err := d.conn().ExecContext(ctx, `DELETE FROM networks WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("network %q: %w", name, mapErr(err))
	}
	return affected(res, fmt.Errorf("network %q: %w", name, api.ErrNotFound))
}

func (d *DB) networks(ctx context.Context, where string, args ...any) ([]Network, error) {
	rows, err := d.conn().QueryContext(ctx, `SELECT id, name, description, type, config, status FROM networks `+where+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	defer rows.Close()
	out := []Network{}
	for rows.Next() {
		var n Network
		var cfg string
		if err := rows.Scan(&n.ID, &n.Name, &n.Description, &n.Type, &cfg, &n.Status); err != nil {
			return nil, err
		}
		if n.Config, err = configFrom(cfg); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// GetConfig returns a daemon config value ("" when unset).
func (d *DB) GetConfig(ctx context.Context, key string) (string, error) {
	var v string
	err := d.conn().QueryRowContext(ctx, `SELECT value FROM config WHERE key = ?`, key).Scan(&v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read config %q: %w", key, err)
	}
	return v, nil
}

// SetConfig sets a daemon config value.
func (d *DB) SetConfig(ctx context.Context, key, value string) error {
	if _, err := d.conn().ExecContext(ctx, `INSERT INTO config (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("write config %q: %w", key, err)
	}
	return nil
}

// SetProfileDevice adds or replaces one device of a profile.
func (d *DB) SetProfileDevice(ctx context.Context, profile, device string, dev map[string]string) error {
	p, err := d.GetProfile(ctx, profile)
	if err != nil {
		return err
	}
	p.Devices[device] = dev
	return d.UpdateProfile(ctx, p)
}
