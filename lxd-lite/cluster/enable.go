package cluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"

	"lite/client/api"
	"lite/db"
	"lite/profiles"
)

// checkName is what a member may be called: a host name label.
func checkName(name string) error { return profiles.ValidateMemberName(name) }

// EnableOptions say how this lited becomes the first member.
type EnableOptions struct {
	Name string
	// HTTPSAddress is core.https_address (required: the others reach this member there).
	HTTPSAddress string
	// DBAddress is where the dqlite node listens ("": the HTTPS port plus one).
	DBAddress string
	// ServerCert and ServerKey are this lited's HTTPS key pair files; the pair becomes the
	// cluster certificate, so clients that pinned this server keep working (as LXD).
	ServerCert, ServerKey string
}

// Enable makes this lited the first member of a new cluster: every row of the SQLite
// database moves into dqlite in one go, then lited runs on dqlite. Until the move is
// committed and recorded (member.json) the SQLite database stays authoritative, also when
// lited is killed midway.
func (s *Service) Enable(ctx context.Context, o EnableOptions) error {
	s.op.Lock()
	defer s.op.Unlock()
	if s.Enabled() {
		return fmt.Errorf("this server is already cluster member %q: %w", s.LocalName(), api.ErrConflict)
	}
	if err := checkName(o.Name); err != nil {
		return err
	}
	o.ServerCert, o.ServerKey = s.serverPair(o.ServerCert, o.ServerKey)
	https, dbAddr, err := memberAddresses(o.HTTPSAddress, o.DBAddress)
	if err != nil {
		return err
	}
	if err := s.freshStateDir(); err != nil {
		return err
	}
	n, err := s.enable(ctx, o, member{Name: o.Name, Address: https, DBAddress: dbAddr})
	if err != nil {
		if n != nil {
			_ = n.sql.Close()
			_ = n.close(ctx)
		}
		if rerr := os.RemoveAll(s.path()); rerr != nil {
			s.log.Warn("remove the state of a failed cluster enable", "err", rerr)
		}
		return err
	}
	s.log.Info("cluster enabled: this server is its first member", "name", o.Name, "address", https, "database", dbAddr)
	return nil
}

func (s *Service) enable(ctx context.Context, o EnableOptions, m member) (*node, error) {
	for _, f := range [][2]string{{o.ServerCert, certFile}, {o.ServerKey, keyFile}} {
		if err := copyFile(f[0], s.path(f[1])); err != nil {
			return nil, err
		}
	}
	cert, certPEM, err := loadCert(s.path(certFile), s.path(keyFile))
	if err != nil {
		return nil, err
	}
	n, err := startNode(ctx, s.path(dqliteDir), cert, m.DBAddress, nil, s.log)
	if err != nil {
		return nil, err
	}
	dst, err := db.OpenConn(ctx, n.sql)
	if err != nil {
		return n, err
	}
	now := s.now().UTC()
	sqlitePath := s.db.SQLitePath()
	extra := func(ctx context.Context, tx *sql.Tx) error {
		return claimEverything(ctx, tx, m, now)
	}
	// From here the only connection of the SQLite database is held: nothing else reads
	// or writes until the swap.
	if err := s.db.MoveInto(ctx, dst, extra, func() error { return s.writeMember(m) }); err != nil {
		return n, err
	}
	s.setAsideSQLite(sqlitePath)
	s.become(m, &cert, certPEM, n)
	s.startLoops()
	return nil, nil
}

// claimEverything records the first member and that it holds every instance and image;
// core.https_address becomes the member's own key (member.json).
func claimEverything(ctx context.Context, tx *sql.Tx, m member, now any) error {
	stmts := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO nodes (name, address, db_address, architecture, description, heartbeat, created_at) VALUES (?, ?, ?, ?, '', ?, ?)`,
			[]any{m.Name, m.Address, m.DBAddress, runtime.GOARCH, now, now}},
		{`UPDATE instances SET node = ?`, []any{m.Name}},
		{`INSERT INTO images_nodes (image_id, node) SELECT id, ? FROM images WHERE true ON CONFLICT DO NOTHING`, []any{m.Name}},
		{`DELETE FROM config WHERE key = 'core.https_address'`, nil},
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("record the first member: %w", err)
		}
	}
	return nil
}

// setAsideSQLite renames the SQLite database (now stale) so nothing takes it for the
// state: lite.db becomes lite.db.before-cluster.
func (s *Service) setAsideSQLite(path string) {
	if path == "" {
		return
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(path+suffix, path+sqliteAside+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("set the SQLite database aside", "file", path+suffix, "err", err)
		}
	}
}

// copyFile copies src to a new file dst, 0600.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", filepath.Base(src), err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("copy %s: %w", filepath.Base(src), err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", filepath.Base(src), err)
	}
	return out.Close()
}
