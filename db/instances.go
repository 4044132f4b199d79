package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"lite/client/api"
)

// Instance is an instance row with its profiles, in apply order.
type Instance struct {
	ID           int64
	Name         string
	Type         string
	Architecture string
	Description  string
	Ephemeral    bool
	Config       map[string]string
	Devices      map[string]map[string]string
	Profiles     []string
	CreatedAt    time.Time
	LastUsedAt   time.Time
	// Node is the cluster member the instance lives on ('' on a single host).
	Node string
}

const instanceColumns = `id, name, type, architecture, description, ephemeral, created_at, last_used_at, node`

// CreateInstance inserts an instance with its config, devices and profiles, in one transaction.
func (d *DB) CreateInstance(ctx context.Context, inst Instance) (int64, error) {
	var id int64
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO instances (name, type, architecture, description, ephemeral, created_at, last_used_at, node) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			inst.Name, inst.Type, inst.Architecture, inst.Description, inst.Ephemeral, inst.CreatedAt.UTC(), inst.LastUsedAt.UTC(), inst.Node)
		if err != nil {
			return fmt.Errorf("instance %q: %w", inst.Name, mapErr(err))
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		if err := instanceTables.replace(ctx, tx, id, inst.Config, inst.Devices); err != nil {
			return fmt.Errorf("instance %q: %w", inst.Name, err)
		}
		return setProfiles(ctx, tx, id, inst.Profiles)
	})
	return id, err
}

func setProfiles(ctx context.Context, tx *sql.Tx, id int64, profiles []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM instances_profiles WHERE instance_id = ?`, id); err != nil {
		return err
	}
	for i, p := range profiles {
		res, err := tx.ExecContext(ctx, `INSERT INTO instances_profiles (instance_id, profile_id, apply_order) SELECT ?, id, ? FROM profiles WHERE name = ?`, id, i, p)
		if err != nil {
			return fmt.Errorf("profile %q: %w", p, mapErr(err))
		}
		if err := affected(res, fmt.Errorf("profile %q: %w", p, api.ErrNotFound)); err != nil {
			return err
		}
	}
	return nil
}

// UpdateInstance replaces an instance's description, config, devices and profiles.
func (d *DB) UpdateInstance(ctx context.Context, inst Instance) error {
	return d.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE instances SET description = ?, ephemeral = ? WHERE id = ?`,
			inst.Description, inst.Ephemeral, inst.ID)
		if err != nil {
			return fmt.Errorf("instance %q: %w", inst.Name, mapErr(err))
		}
		if err := affected(res, fmt.Errorf("instance %q: %w", inst.Name, api.ErrNotFound)); err != nil {
			return err
		}
		if err := instanceTables.replace(ctx, tx, inst.ID, inst.Config, inst.Devices); err != nil {
			return fmt.Errorf("instance %q: %w", inst.Name, err)
		}
		return setProfiles(ctx, tx, inst.ID, inst.Profiles)
	})
}

// SetInstanceConfig sets (or, for an empty value, removes) config keys of one instance. The
// daemon uses it for volatile.* keys.
func (d *DB) SetInstanceConfig(ctx context.Context, name string, kv map[string]string) error {
	return d.Tx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM instances WHERE name = ?`, name).Scan(&id); err != nil {
			return fmt.Errorf("instance %q: %w", name, mapErr(err))
		}
		for k, v := range kv {
			var err error
			if v == "" {
				_, err = tx.ExecContext(ctx, `DELETE FROM instances_config WHERE instance_id = ? AND key = ?`, id, k)
			} else {
				_, err = tx.ExecContext(ctx, `INSERT INTO instances_config (instance_id, key, value) VALUES (?, ?, ?) ON CONFLICT (instance_id, key) DO UPDATE SET value = excluded.value`, id, k, v)
			}
			if err != nil {
				return fmt.Errorf("instance %q key %q: %w", name, k, mapErr(err))
			}
		}
		return nil
	})
}

// TouchInstance records that an instance was just started.
func (d *DB) TouchInstance(ctx context.Context, name string, at time.Time) error {
	_, err := d.conn().ExecContext(ctx, `UPDATE instances SET last_used_at = ? WHERE name = ?`, at.UTC(), name)
	return err
}

// DeleteInstance removes an instance row (its profile links go with it).
func (d *DB) DeleteInstance(ctx context.Context, name string) error {
	res, err := d.conn().ExecContext(ctx, `DELETE FROM instances WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete instance %q: %w", name, mapErr(err))
	}
	if err := affected(res, fmt.Errorf("instance %q: %w", name, api.ErrNotFound)); err != nil {
		return err
	}
	return nil
}

// GetInstance returns one instance by name.
func (d *DB) GetInstance(ctx context.Context, name string) (Instance, error) {
	list, err := d.instances(ctx, `WHERE name = ?`, name)
	if err != nil {
		return Instance{}, err
	}
	if len(list) == 0 {
		return Instance{}, fmt.Errorf("instance %q: %w", name, api.ErrNotFound)
	}
	return list[0], nil
}

// ListInstances returns every instance, ordered by name.
func (d *DB) ListInstances(ctx context.Context) ([]Instance, error) {
	return d.instances(ctx, ``)
}

// instances reads the instances that filter (a WHERE clause, or "") selects, ordered by name,
// each with its profiles, config and devices: four queries whatever their number.
func (d *DB) instances(ctx context.Context, filter string, args ...any) ([]Instance, error) {
	rows, err := d.conn().QueryContext(ctx, `SELECT `+instanceColumns+` FROM instances `+filter+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	var out []Instance
	for rows.Next() {
		var inst Instance
		if err := rows.Scan(&inst.ID, &inst.Name, &inst.Type, &inst.Architecture, &inst.Description, &inst.Ephemeral, &inst.CreatedAt, &inst.LastUsedAt, &inst.Node); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("read instance: %w", err)
		}
		out = append(out, inst)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	owners := `SELECT id FROM instances ` + filter
	profs, err := d.instancesProfiles(ctx, owners, args...)
	if err != nil {
		return nil, err
	}
	cfgs, err := instanceTables.loadConfigs(ctx, d.conn(), owners, args...)
	if err != nil {
		return nil, err
	}
	devs, err := instanceTables.loadDevicesOf(ctx, d.conn(), owners, args...)
	if err != nil {
		return nil, err
	}
	for i := range out {
		id := out[i].ID
		out[i].Profiles, out[i].Config, out[i].Devices = profs[id], cfgs[id], devs[id]
		if out[i].Profiles == nil {
			out[i].Profiles = []string{}
		}
		if out[i].Config == nil {
			out[i].Config = map[string]string{}
		}
		if out[i].Devices == nil {
			out[i].Devices = map[string]map[string]string{}
		}
	}
	return out, nil
}

// instancesProfiles maps each instance the SQL owners yields to its profiles, in order.
func (d *DB) instancesProfiles(ctx context.Context, owners string, args ...any) (map[int64][]string, error) {
	rows, err := d.conn().QueryContext(ctx, `SELECT ip.instance_id, p.name FROM instances_profiles ip JOIN profiles p ON p.id = ip.profile_id
WHERE ip.instance_id IN (`+owners+`) ORDER BY ip.instance_id, ip.apply_order`, args...)
	if err != nil {
		return nil, fmt.Errorf("instance profiles: %w", err)
	}
	defer rows.Close()
	out := map[int64][]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("instance profiles: %w", err)
		}
		out[id] = append(out[id], name)
	}
	return out, rows.Err()
}

// IsNotFound reports whether err says a row is missing.
func IsNotFound(err error) bool { return errors.Is(err, api.ErrNotFound) }
