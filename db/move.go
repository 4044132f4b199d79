package db

import (
	"context"
	"database/sql"
	"fmt"
)

// OpenConn takes an open database (dqlite's) and brings its schema up to date, as Open does
// for a SQLite file. Schema updates run in transactions, so on dqlite they run once, on the
// leader, whichever member starts first.
func OpenConn(ctx context.Context, s *sql.DB) (*DB, error) {
	// One connection, as on SQLite: transactions never fight each other for the write lock.
	s.SetMaxOpenConns(1)
	d := newDB(s, "")
	if err := d.update(ctx, ""); err != nil {
		return nil, fmt.Errorf("update schema: %w", err)
	}
	return d, nil
}

// SQLitePath is the SQLite file of the database ("" on dqlite).
func (d *DB) SQLitePath() string { return d.path }

// Swap makes d use other's database from now on and closes the one d used. Requests that
// wait for the old connection fail ("database is closed") rather than write where nobody
// reads again. other must not be used or closed by itself afterwards.
func (d *DB) Swap(other *DB) error {
	old := d.cur.Swap(other.cur.Load())
	d.path = other.path
	return old.Close()
}

// MoveInto copies every row of d into dst (a fresh database with the same schema) in one
// transaction of each, runs extra in dst's transaction, commits, calls committed (which
// records that dst is now authoritative), and then swaps d onto dst. Nothing else can use d
// meanwhile: d's only connection is held by the copy. When anything fails before committed
// returns nil, d is left as it was and stays authoritative.
func (d *DB) MoveInto(ctx context.Context, dst *DB, extra func(ctx context.Context, tx *sql.Tx) error, committed func() error) error {
	src, err := d.conn().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	// Rolled back after the swap: until then it holds the only connection, so nothing can
	// write a row the copy would miss.
	defer func() { _ = src.Rollback() }()
	tables, err := Tables(ctx, src)
	if err != nil {
		return err
	}
	err = dst.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
			return fmt.Errorf("defer foreign keys: %w", err)
		}
		for _, t := range tables {
			if err := copyTable(ctx, src, tx, t); err != nil {
				return err
			}
		}
		return extra(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("copy the database: %w", err)
	}
	if err := committed(); err != nil {
		return err
	}
	return d.Swap(dst)
}

// Tables names the tables whose rows are the state: every table but the schema version
// (each database has its own) and SQLite's internal ones but sqlite_sequence (the next
// ids), which comes last: copying rows moves it, and then it is set to the source's.
func Tables(ctx context.Context, q queryer) ([]string, error) {
	return queryNames(ctx, q, "list tables", `SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'schema_version' AND (name NOT LIKE 'sqlite_%' OR name = 'sqlite_sequence') ORDER BY name = 'sqlite_sequence', name`)
}

// copyTable replaces dst's rows of table with src's.
func copyTable(ctx context.Context, src *sql.Tx, dst *sql.Tx, table string) error {
	if _, err := dst.ExecContext(ctx, `DELETE FROM `+quoteIdent(table)); err != nil {
		return fmt.Errorf("empty %s: %w", table, err)
	}
	cols, rows, err := ReadTable(ctx, src, table)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	names, marks := "", ""
	for i, c := range cols {
		if i > 0 {
			names, marks = names+", ", marks+", "
		}
		names, marks = names+quoteIdent(c), marks+"?"
	}
	stmt := fmt.Sprintf(`INSERT INTO %s (%s) VALUES (%s)`, quoteIdent(table), names, marks)
	for _, r := range rows {
		if _, err := dst.ExecContext(ctx, stmt, r...); err != nil {
			return fmt.Errorf("copy a row of %s: %w", table, err)
		}
	}
	return nil
}

// ReadTable returns the column names and every row of table, ordered by its columns.
func ReadTable(ctx context.Context, q queryer, table string) ([]string, [][]any, error) {
	rows, err := q.QueryContext(ctx, `SELECT * FROM `+quoteIdent(table))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", table, err)
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", table, err)
		}
		out = append(out, vals)
	}
	return cols, out, rows.Err()
}

// quoteIdent quotes a table or column name read from sqlite_master.
func quoteIdent(s string) string {
	q := `"`
	for _, r := range s {
		if r == '"' {
			q += `""`
		} else {
			q += string(r)
		}
	}
	return q + `"`
}
