package db

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	dqlite "github.com/canonical/go-dqlite/driver"
	"github.com/mattn/go-sqlite3"
)

// retryFor bounds how long a statement or transaction is retried while the database is
// busy. On dqlite, members write at once and a write that meets another one's transaction
// gets "database is locked" at once, where SQLite's busy timeout would wait; a leadership
// change fails statements briefly too. LXD retries the same way.
const retryFor = 10 * time.Second

// handle is the database in use with statements retried while it is busy.
type handle struct{ db *sql.DB }

func (h handle) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := retry(ctx, func() error {
		var err error
		res, err = h.db.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

func (h handle) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	var rows *sql.Rows
	err := retry(ctx, func() error {
		var err error
		rows, err = h.db.QueryContext(ctx, query, args...)
		return err
	})
	return rows, err
}

func (h handle) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return h.db.QueryRowContext(ctx, query, args...)
}

func (h handle) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	return h.db.BeginTx(ctx, opts)
}

func (h handle) Close() error { return h.db.Close() }

// retry runs fn again while it fails because the database is busy, until retryFor passed
// or ctx ended.
func retry(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(retryFor)
	wait := 10 * time.Millisecond
	for {
		err := fn()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// isBusy reports whether err says the database is locked or its leader changed: worth
// trying again.
func isBusy(err error) bool {
	var de dqlite.Error
	if errors.As(err, &de) {
		return de.Code&0xff == dqlite.ErrBusy || de.Code&0xff == 10 && (de.Code>>8 == 40 || de.Code>>8 == 41) // IOERR_NOT_LEADER, LEADERSHIP_LOST
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code == sqlite3.ErrBusy
	}
	return errors.Is(err, dqlite.ErrNoAvailableLeader) || strings.Contains(err.Error(), "database is locked")
}
