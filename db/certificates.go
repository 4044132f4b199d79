package db

import (
	"context"
	"database/sql"
	"fmt"

	"lite/client/api"
)

// updateCertificates adds the trust store of the HTTPS API: trusted client certificates.
func updateCertificates(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `
CREATE TABLE certificates (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	fingerprint  TEXT NOT NULL UNIQUE,
	type         TEXT NOT NULL DEFAULT 'client',
	name         TEXT NOT NULL UNIQUE,
	certificate  TEXT NOT NULL,
	restricted   INTEGER NOT NULL DEFAULT 0
);
`)
	return err
}

// GetCertificates returns the trusted certificates, by name.
func (d *DB) GetCertificates(ctx context.Context) ([]api.Certificate, error) {
	rows, err := d.conn().QueryContext(ctx, `SELECT fingerprint, type, name, certificate, restricted FROM certificates ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("read certificates: %w", err)
	}
	defer rows.Close()
	out := []api.Certificate{}
	for rows.Next() {
		c := api.Certificate{CertificatePut: api.CertificatePut{Projects: []string{}}}
		if err := rows.Scan(&c.Fingerprint, &c.Type, &c.Name, &c.Certificate, &c.Restricted); err != nil {
			return nil, fmt.Errorf("read certificates: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// GetCertificate returns the certificate with this full fingerprint.
func (d *DB) GetCertificate(ctx context.Context, fingerprint string) (*api.Certificate, error) {
	c := api.Certificate{CertificatePut: api.CertificatePut{Projects: []string{}}}
	err := d.conn().QueryRowContext(ctx, `SELECT fingerprint, type, name, certificate, restricted FROM certificates WHERE fingerprint = ?`, fingerprint).
		Scan(&c.Fingerprint, &c.Type, &c.Name, &c.Certificate, &c.Restricted)
	if err != nil {
		return nil, fmt.Errorf("certificate %q: %w", fingerprint, mapErr(err))
	}
	return &c, nil
}

// CreateCertificate adds a trusted certificate; a taken name or fingerprint is ErrAlreadyExists.
func (d *DB) CreateCertificate(ctx context.Context, c api.Certificate) error {
	_, err := d.conn().ExecContext(ctx, `INSERT INTO certificates (fingerprint, type, name, certificate, restricted) VALUES (?, ?, ?, ?, ?)`,
		c.Fingerprint, c.Type, c.Name, c.Certificate, c.Restricted)
	if err != nil {
		return fmt.Errorf("add certificate %q: %w", c.Name, mapErr(err))
	}
	return nil
}

// DeleteCertificate removes the certificate with this full fingerprint.
func (d *DB) DeleteCertificate(ctx context.Context, fingerprint string) error {
	res, err := d.conn().ExecContext(ctx, `DELETE FROM certificates WHERE fingerprint = ?`, fingerprint)
	if err != nil {
		return fmt.Errorf("delete certificate %q: %w", fingerprint, err)
	}
	return affected(res, fmt.Errorf("certificate %q: %w", fingerprint, api.ErrNotFound))
}

// GetServerConfig returns the values of the given server config keys that are set.
func (d *DB) GetServerConfig(ctx context.Context, keys []string) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range keys {
		v, err := d.GetConfig(ctx, k)
		if err != nil {
			return nil, err
		}
		if v != "" {
			out[k] = v
		}
	}
	return out, nil
}

// ReplaceServerConfig sets the server config keys in one transaction: every key of keys is
// set to its value in cfg, or removed when cfg lacks it.
func (d *DB) ReplaceServerConfig(ctx context.Context, keys []string, cfg map[string]string) error {
	return d.Tx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			v, ok := cfg[k]
			var err error
			if ok && v != "" {
				_, err = tx.ExecContext(ctx, `INSERT INTO config (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, k, v)
			} else {
				_, err = tx.ExecContext(ctx, `DELETE FROM config WHERE key = ?`, k)
			}
			if err != nil {
				return fmt.Errorf("write config %q: %w", k, err)
			}
		}
		return nil
	})
}
