package db

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
)

// tables names the config and device tables of one kind of owner (instances or profiles).
type tables struct {
	config, devices, devConfig, fk string
}

var (
	instanceTables = tables{"instances_config", "instances_devices", "instances_devices_config", "instance_id"}
	profileTables  = tables{"profiles_config", "profiles_devices", "profiles_devices_config", "profile_id"}
)

// queryer is what both *sql.DB and *sql.Tx offer for reads.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// loadConfig reads an owner's config rows into a map (never nil).
func (t tables) loadConfig(ctx context.Context, q queryer, id int64) (map[string]string, error) {
	all, err := t.loadConfigs(ctx, q, "?", id)
	if err != nil {
		return nil, err
	}
	if all[id] == nil {
		return map[string]string{}, nil
	}
	return all[id], nil
}

// loadConfigs reads the config rows of every owner whose id the SQL owners yields (a
// subquery, or "?" for one id) in one query: a list costs one round trip to the database,
// not one per owner (each is a network round trip to the leader in a cluster).
func (t tables) loadConfigs(ctx context.Context, q queryer, owners string, args ...any) (map[int64]map[string]string, error) {
	rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT %s, key, value FROM %s WHERE %s IN (%s)`, t.fk, t.config, t.fk, owners), args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t.config, err)
	}
	defer rows.Close()
	out := map[int64]map[string]string{}
	for rows.Next() {
		var id int64
		var k, v string
		if err := rows.Scan(&id, &k, &v); err != nil {
			return nil, fmt.Errorf("read %s: %w", t.config, err)
		}
		if out[id] == nil {
			out[id] = map[string]string{}
		}
		out[id][k] = v
	}
	return out, rows.Err()
}

// loadDevices reads an owner's devices, each with its "type" key, into a map (never nil).
func (t tables) loadDevices(ctx context.Context, q queryer, id int64) (map[string]map[string]string, error) {
	all, err := t.loadDevicesOf(ctx, q, "?", id)
	if err != nil {
		return nil, err
	}
	if all[id] == nil {
		return map[string]map[string]string{}, nil
	}
	return all[id], nil
}

// loadDevicesOf reads the devices of every owner whose id the SQL owners yields, in one query.
func (t tables) loadDevicesOf(ctx context.Context, q queryer, owners string, args ...any) (map[int64]map[string]map[string]string, error) {
	rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT d.%s, d.name, d.type, c.key, c.value FROM %s d LEFT JOIN %s c ON c.device_id = d.id WHERE d.%s IN (%s)`,
		t.fk, t.devices, t.devConfig, t.fk, owners), args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t.devices, err)
	}
	defer rows.Close()
	out := map[int64]map[string]map[string]string{}
	for rows.Next() {
		var id int64
		var name, typ string
		var k, v sql.NullString
		if err := rows.Scan(&id, &name, &typ, &k, &v); err != nil {
			return nil, fmt.Errorf("read %s: %w", t.devices, err)
		}
		if out[id] == nil {
			out[id] = map[string]map[string]string{}
		}
		d, ok := out[id][name]
		if !ok {
			d = map[string]string{"type": typ}
			out[id][name] = d
		}
		if k.Valid {
			d[k.String] = v.String
		}
	}
	return out, rows.Err()
}

// replace writes an owner's whole config and device set, removing what is not in them.
func (t tables) replace(ctx context.Context, tx *sql.Tx, id int64, cfg map[string]string, devs map[string]map[string]string) error {
	if err := t.replaceConfig(ctx, tx, id, cfg); err != nil {
		return err
	}
	// Device keys go with their device (ON DELETE CASCADE).
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE %s = ?`, t.devices, t.fk), id); err != nil {
		return fmt.Errorf("clear %s: %w", t.devices, err)
	}
	names := make([]string, 0, len(devs))
	for n := range devs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		dev := devs[n]
		res, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s (%s, name, type) VALUES (?, ?, ?)`, t.devices, t.fk), id, n, dev["type"])
		if err != nil {
			return fmt.Errorf("device %q: %w", n, mapErr(err))
		}
		devID, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for k, v := range dev {
			if k == "type" {
				continue
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s (device_id, key, value) VALUES (?, ?, ?)`, t.devConfig), devID, k, v); err != nil {
				return fmt.Errorf("device %q key %q: %w", n, k, mapErr(err))
			}
		}
	}
	return nil
}

// replaceConfig writes an owner's whole config.
func (t tables) replaceConfig(ctx context.Context, tx *sql.Tx, id int64, cfg map[string]string) error {
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE %s = ?`, t.config, t.fk), id); err != nil {
		return fmt.Errorf("clear %s: %w", t.config, err)
	}
	for k, v := range cfg {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s (%s, key, value) VALUES (?, ?, ?)`, t.config, t.fk), id, k, v); err != nil {
			return fmt.Errorf("config key %q: %w", k, mapErr(err))
		}
	}
	return nil
}
