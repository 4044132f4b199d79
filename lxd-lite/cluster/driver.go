package cluster

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	dqclient "github.com/canonical/go-dqlite/client"
	"github.com/canonical/go-dqlite/driver"
)

// lited talks to the cluster database through a driver of its own rather than app.Open's,
// for two bounds go-dqlite leaves out:
//   - attemptTimeout: finding the leader asks the nodes one after the other, each for up to
//     15 s by default, so one node that stopped answering (cut off, frozen) used up a
//     caller's whole deadline before a live node was asked;
//   - replyTimeout: a statement whose context has no deadline waited for the leader's reply
//     for ever, and a leader gone without closing the connection (network cut) never
//     replies: lited's only database connection was stuck, and every request with it.
const (
	attemptTimeout = 2 * time.Second
	replyTimeout   = 10 * time.Second
)

// openDB opens database name through the cluster's leader, found from the node list the
// dqlite node keeps in dir (cluster.yaml); dial is the TLS config between nodes.
func openDB(ctx context.Context, dir, name string, dial *tls.Config, log *slog.Logger) (*sql.DB, error) {
	dialFunc := dqclient.DialFuncWithTLS(boundedDial, dial)
	drv, err := driver.New(&fileStore{path: filepath.Join(dir, "cluster.yaml")},
		driver.WithDialFunc(dialFunc), driver.WithLogFunc(dqliteLog(log)), driver.WithAttemptTimeout(attemptTimeout))
	if err != nil {
		return nil, err
	}
	conn, err := drv.OpenConnector(name)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	// A leader may be being elected: wait for one as app.Open does, within ctx.
	for {
		err = db.PingContext(ctx)
		if err == nil || !errors.Is(err, driver.ErrNoAvailableLeader) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// fileStore is the node list the dqlite node keeps up to date in cluster.yaml, read at each
// use (the node rewrites it atomically when members come and go); the last good read is
// kept when a read fails.
type fileStore struct {
	path string
	mu   sync.Mutex
	last []dqclient.NodeInfo
}

func (s *fileStore) Get(ctx context.Context) ([]dqclient.NodeInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := dqclient.NewYamlNodeStore(s.path)
	if err == nil {
		var nodes []dqclient.NodeInfo
		if nodes, err = st.Get(ctx); err == nil && len(nodes) > 0 {
			s.last = nodes
		}
	}
	if s.last == nil {
		return nil, fmt.Errorf("read the database nodes from %s: %v", s.path, err)
	}
	return s.last, nil
}

// Set is the node's job: the driver never calls it.
func (s *fileStore) Set(context.Context, []dqclient.NodeInfo) error {
	return errors.New("the database node list is kept by the node")
}

// boundedDial dials a node with a connection whose reads wait at most replyTimeout when the
// driver set no deadline of its own.
func boundedDial(ctx context.Context, address string) (net.Conn, error) {
	c, err := dqclient.DefaultDialFunc(ctx, address)
	if err != nil {
		return nil, err
	}
	return &boundedConn{Conn: c}, nil
}

// boundedConn gives each read a deadline of replyTimeout unless the caller set one. The
// driver reads only while it waits for a reply, so an idle connection is never cut.
type boundedConn struct {
	net.Conn
	mu       sync.Mutex
	deadline time.Time // the read deadline the driver set; zero: none
}

func (c *boundedConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *boundedConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *boundedConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	set := !c.deadline.IsZero()
	c.mu.Unlock()
	if !set {
		if err := c.Conn.SetReadDeadline(time.Now().Add(replyTimeout)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(b)
}
