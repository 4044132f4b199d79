// Package db is lited's state in SQLite: open with WAL, foreign keys and a busy timeout,
// append-only numbered schema updates, one file per entity, and sqlite errors mapped to the
// api error kinds so handlers can return them unchanged. A cluster member keeps the same
// schema and runs the same queries on dqlite (see OpenConn and MoveInto).
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	dqlite "github.com/canonical/go-dqlite/driver"
	"github.com/mattn/go-sqlite3"
	"golang.org/x/sys/unix"

	"lite/client/api"
)

// DB is the daemon's database. The connection behind it can be replaced while lited runs
// (MoveInto, Swap): every part of lited holds the same *DB and follows.
type DB struct {
	cur atomic.Pointer[sql.DB]
	// path is the SQLite file ("" on dqlite).
	path string
}

// conn is the database in use now, its statements retried while it is busy.
func (d *DB) conn() handle { return handle{d.cur.Load()} }

func newDB(s *sql.DB, path string) *DB {
	d := &DB{path: path}
	d.cur.Store(s)
	return d
}

// Open opens (creating if needed) the database at path and brings its schema up to date.
// The file is created 0600 (it holds every config value, environment.* secrets included);
// SQLite gives its -wal and -shm files the same mode. Before a schema update it keeps a copy
// of the database as it was (see backupBeforeUpdate).
func Open(ctx context.Context, path string) (*DB, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	dsn := fmt.Sprintf("file:%s?_foreign_keys=on&_journal_mode=WAL&_busy_timeout=5000&_txlock=immediate", path)
	s, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// One writer at a time is what SQLite allows anyway; a single connection also keeps
	// "immediate" transactions from fighting over the busy timeout.
	s.SetMaxOpenConns(1)
	d := newDB(s, path)
	if err := d.update(ctx, path); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("update schema of %s: %w", path, err)
	}
	return d, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.conn().Close() }

// Tx runs fn in one transaction, committed when fn returns nil. A transaction that fails
// because the database is busy (another member's write, on dqlite) runs again: fn must
// have no effect outside tx.
func (d *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return retry(ctx, func() error { return d.tx(ctx, fn) })
}

func (d *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := d.conn().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return fmt.Errorf("%w (rollback: %v)", err, rerr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", mapErr(err))
	}
	return nil
}

// mapErr turns constraint violations into api kinds, from SQLite's and dqlite's drivers
// alike (dqlite's codes are SQLite's extended codes).
func mapErr(err error) error {
	code, ok := extendedCode(err)
	if ok {
		switch code {
		case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
			return fmt.Errorf("%w: %v", api.ErrAlreadyExists, err)
		case sqlite3.ErrConstraintTrigger:
			if strings.Contains(err.Error(), nameClashMessage) {
				return fmt.Errorf("%w: %s", api.ErrAlreadyExists, nameClashMessage)
			}
			return fmt.Errorf("%w: still in use: %v", api.ErrConflict, err)
		case sqlite3.ErrConstraintForeignKey:
			return fmt.Errorf("%w: still in use: %v", api.ErrConflict, err)
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w", api.ErrNotFound)
	}
	return err
}

// extendedCode is the SQLite extended result code of a driver error, if err is one.
func extendedCode(err error) (sqlite3.ErrNoExtended, bool) {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode, true
	}
	var de dqlite.Error
	if errors.As(err, &de) {
		return sqlite3.ErrNoExtended(de.Code), true
	}
	return 0, false
}

// affected returns notFound when a statement changed no row.
func affected(res sql.Result, notFound error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("count changed rows: %w", err)
	}
	if n == 0 {
		return notFound
	}
	return nil
}

// queryNames runs a query whose rows are one text column (names) and returns them; what says
// what was asked, for the error.
func queryNames(ctx context.Context, q queryer, what, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
