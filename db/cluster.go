package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"lite/client/api"
)

// updateCluster adds cluster members (nodes), the member each instance lives on
// (instances.node, ” on a single host) and which members hold an image's files.
func updateCluster(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `
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
ALTER TABLE instances ADD COLUMN node TEXT NOT NULL DEFAULT '';
CREATE TABLE images_nodes (
	image_id  INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
	node      TEXT NOT NULL,
	PRIMARY KEY (image_id, node)
);
CREATE TABLE cluster_tokens (
	secret      TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	expires_at  DATETIME NOT NULL
);
`)
	return err
}

// Node is one cluster member's row.
type Node struct {
	ID           int64
	Name         string
	Address      string // HTTPS address, HOST:PORT
	DBAddress    string // dqlite address, HOST:PORT
	Architecture string
	Description  string
	Heartbeat    time.Time
	CreatedAt    time.Time
}

const nodeColumns = `id, name, address, db_address, architecture, description, heartbeat, created_at`

// GetNodes returns the cluster members, by name (none on a single host).
func (d *DB) GetNodes(ctx context.Context) ([]Node, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT `+nodeColumns+` FROM nodes ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("read cluster members: %w", err)
	}
	defer rows.Close()
	out := []Node{}
	for rows.Next() {
		var n Node
		if err := rows.Scan(&n.ID, &n.Name, &n.Address, &n.DBAddress, &n.Architecture, &n.Description, &n.Heartbeat, &n.CreatedAt); err != nil {
			return nil, fmt.Errorf("read cluster members: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// GetNode returns one member by name.
func (d *DB) GetNode(ctx context.Context, name string) (Node, error) {
	var n Node
	err := d.sql.QueryRowContext(ctx, `SELECT `+nodeColumns+` FROM nodes WHERE name = ?`, name).
		Scan(&n.ID, &n.Name, &n.Address, &n.DBAddress, &n.Architecture, &n.Description, &n.Heartbeat, &n.CreatedAt)
	if err != nil {
		return Node{}, fmt.Errorf("cluster member %q: %w", name, mapErr(err))
	}
	return n, nil
}

// CreateNode adds a member; a taken name or address is ErrAlreadyExists.
func (d *DB) CreateNode(ctx context.Context, n Node) error {
	_, err := d.sql.ExecContext(ctx, `INSERT INTO nodes (name, address, db_address, architecture, description, heartbeat, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		n.Name, n.Address, n.DBAddress, n.Architecture, n.Description, n.Heartbeat.UTC(), n.CreatedAt.UTC())
	if err != nil {
		return fmt.Errorf("add cluster member %q: %w", n.Name, mapErr(err))
	}
	return nil
}

// DeleteNode removes a member and the record of which images it holds.
func (d *DB) DeleteNode(ctx context.Context, name string) error {
	return d.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM nodes WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("remove cluster member %q: %w", name, mapErr(err))
		}
		if err := affected(res, fmt.Errorf("cluster member %q: %w", name, api.ErrNotFound)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM images_nodes WHERE node = ?`, name); err != nil {
			return fmt.Errorf("remove cluster member %q: %w", name, mapErr(err))
		}
		return nil
	})
}

// SetNodeHeartbeat records that member name is alive at t.
func (d *DB) SetNodeHeartbeat(ctx context.Context, name string, t time.Time) error {
	res, err := d.sql.ExecContext(ctx, `UPDATE nodes SET heartbeat = ? WHERE name = ?`, t.UTC(), name)
	if err != nil {
		return fmt.Errorf("heartbeat of %q: %w", name, mapErr(err))
	}
	return affected(res, fmt.Errorf("cluster member %q: %w", name, api.ErrNotFound))
}

// CountInstancesOnNode returns how many instances live on member node.
func (d *DB) CountInstancesOnNode(ctx context.Context, node string) (int, error) {
	var n int
	if err := d.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM instances WHERE node = ?`, node).Scan(&n); err != nil {
		return 0, fmt.Errorf("count instances on %q: %w", node, err)
	}
	return n, nil
}

// CountInstances returns how many instances exist (on any member).
func (d *DB) CountInstances(ctx context.Context) (int, error) {
	var n int
	if err := d.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM instances`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count instances: %w", err)
	}
	return n, nil
}

// SetInstanceNode moves the instance named name to member node (placement, or enable moving
// every instance of the only host to the first member).
func (d *DB) SetInstanceNode(ctx context.Context, name, node string) error {
	res, err := d.sql.ExecContext(ctx, `UPDATE instances SET node = ? WHERE name = ?`, node, name)
	if err != nil {
		return fmt.Errorf("instance %q: %w", name, mapErr(err))
	}
	return affected(res, fmt.Errorf("instance %q: %w", name, api.ErrNotFound))
}

// AddImageNode records that member node holds the files of the image with this fingerprint.
func (d *DB) AddImageNode(ctx context.Context, fingerprint, node string) error {
	res, err := d.sql.ExecContext(ctx, `INSERT INTO images_nodes (image_id, node) SELECT id, ? FROM images WHERE fingerprint = ? ON CONFLICT DO NOTHING`, node, fingerprint)
	if err != nil {
		return fmt.Errorf("image %q on %q: %w", fingerprint, node, mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("image %q on %q: %w", fingerprint, node, err)
	}
	if n == 0 {
		// Either recorded already, or no such image: say which.
		var one int
		if err := d.sql.QueryRowContext(ctx, `SELECT 1 FROM images WHERE fingerprint = ?`, fingerprint).Scan(&one); err != nil {
			return fmt.Errorf("image %q: %w", fingerprint, mapErr(err))
		}
	}
	return nil
}

// ImageNodes returns the members that hold the files of the image with this fingerprint.
func (d *DB) ImageNodes(ctx context.Context, fingerprint string) ([]string, error) {
	return queryNames(ctx, d.sql, "image members", `SELECT n.node FROM images_nodes n JOIN images i ON i.id = n.image_id WHERE i.fingerprint = ? ORDER BY n.node`, fingerprint)
}
