package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"lite/client/api"
)

// InstanceNode returns the cluster member an instance lives on ("" on a single host).
func (d *DB) InstanceNode(ctx context.Context, name string) (string, error) {
	var node string
	err := d.conn().QueryRowContext(ctx, `SELECT node FROM instances WHERE name = ?`, name).Scan(&node)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("instance %q: %w", name, api.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("instance %q: read its member: %w", name, mapErr(err))
	}
	return node, nil
}

// InstanceNodes maps every instance's name to its cluster member.
func (d *DB) InstanceNodes(ctx context.Context) (map[string]string, error) {
	rows, err := d.conn().QueryContext(ctx, `SELECT name, node FROM instances`)
	if err != nil {
		return nil, fmt.Errorf("list instance members: %w", mapErr(err))
	}
	defer func() { _ = rows.Close() }()
	out := map[string]string{}
	for rows.Next() {
		var name, node string
		if err := rows.Scan(&name, &node); err != nil {
			return nil, fmt.Errorf("read instance member: %w", err)
		}
		out[name] = node
	}
	return out, rows.Err()
}
