package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"lite/client/api"
)

// Lab is a lab's definition as last applied: its file and the host files it named.
type Lab struct {
	Name      string
	Source    string
	Filename  string
	Files     map[string][]byte
	SSHKeys   []string
	CreatedAt time.Time
}

// LabNode is the provisioning state of one node: its run steps are done once, with output kept.
type LabNode struct {
	Name        string
	Provisioned bool
	Log         string
}

func updateLabs(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `
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
`)
	return err
}

// PutLab creates a lab or replaces its definition, keeping its nodes' state.
func (d *DB) PutLab(ctx context.Context, l Lab) error {
	files, err := toJSON(l.Files)
	if err != nil {
		return err
	}
	keys, err := toJSON(l.SSHKeys)
	if err != nil {
		return err
	}
	return d.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO labs (name, source, filename, files, ssh_keys, created_at)
VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET source = excluded.source,
filename = excluded.filename, files = excluded.files, ssh_keys = excluded.ssh_keys`,
			l.Name, l.Source, l.Filename, files, keys, time.Now().UTC())
		if err != nil {
			return fmt.Errorf("store lab %q: %w", l.Name, mapErr(err))
		}
		return nil
	})
}

// GetLab returns one lab.
func (d *DB) GetLab(ctx context.Context, name string) (Lab, error) {
	list, err := d.labs(ctx, `WHERE name = ?`, name)
	if err != nil {
		return Lab{}, err
	}
	if len(list) == 0 {
		return Lab{}, fmt.Errorf("lab %q: %w", name, api.ErrNotFound)
	}
	return list[0], nil
}

// ListLabs returns every lab, by name.
func (d *DB) ListLabs(ctx context.Context) ([]Lab, error) { return d.labs(ctx, `ORDER BY name`) }

func (d *DB) labs(ctx context.Context, where string, args ...any) ([]Lab, error) {
	rows, err := d.conn().QueryContext(ctx, `SELECT name, source, filename, files, ssh_keys, created_at FROM labs `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list labs: %w", err)
	}
	defer rows.Close()
	var out []Lab
	for rows.Next() {
		var l Lab
		var files, keys string
		if err := rows.Scan(&l.Name, &l.Source, &l.Filename, &files, &keys, &l.CreatedAt); err != nil {
			return nil, fmt.Errorf("read lab: %w", err)
		}
		if err := json.Unmarshal([]byte(files), &l.Files); err != nil {
			return nil, fmt.Errorf("decode lab %q files: %w", l.Name, err)
		}
		if err := json.Unmarshal([]byte(keys), &l.SSHKeys); err != nil {
			return nil, fmt.Errorf("decode lab %q ssh keys: %w", l.Name, err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// DeleteLab removes a lab and its nodes' state.
func (d *DB) DeleteLab(ctx context.Context, name string) error {
	res, err := d.conn().ExecContext(ctx, `DELETE FROM labs WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete lab %q: %w", name, err)
	}
	return affected(res, fmt.Errorf("lab %q: %w", name, api.ErrNotFound))
}

// LabNodes returns the provisioning state of a lab's nodes, by name.
func (d *DB) LabNodes(ctx context.Context, lab string) (map[string]LabNode, error) {
	rows, err := d.conn().QueryContext(ctx, `SELECT n.name, n.provisioned, n.log FROM labs_nodes n
JOIN labs l ON l.id = n.lab_id WHERE l.name = ?`, lab)
	if err != nil {
		return nil, fmt.Errorf("lab %q nodes: %w", lab, err)
	}
	defer rows.Close()
	out := map[string]LabNode{}
	for rows.Next() {
		var n LabNode
		if err := rows.Scan(&n.Name, &n.Provisioned, &n.Log); err != nil {
			return nil, fmt.Errorf("read lab node: %w", err)
		}
		out[n.Name] = n
	}
	return out, rows.Err()
}

// SetLabNode records a node's provisioning state.
func (d *DB) SetLabNode(ctx context.Context, lab string, n LabNode) error {
	_, err := d.conn().ExecContext(ctx, `INSERT INTO labs_nodes (lab_id, name, provisioned, log)
SELECT id, ?, ?, ? FROM labs WHERE name = ?
ON CONFLICT(lab_id, name) DO UPDATE SET provisioned = excluded.provisioned, log = excluded.log`,
		n.Name, n.Provisioned, n.Log, lab)
	if err != nil {
		return fmt.Errorf("lab %q node %q: %w", lab, n.Name, mapErr(err))
	}
	return nil
}

// DeleteLabNode forgets a node's provisioning state.
func (d *DB) DeleteLabNode(ctx context.Context, lab, node string) error {
	_, err := d.conn().ExecContext(ctx, `DELETE FROM labs_nodes WHERE name = ? AND lab_id = (SELECT id FROM labs WHERE name = ?)`, node, lab)
	if err != nil {
		return fmt.Errorf("lab %q node %q: %w", lab, node, err)
	}
	return nil
}
