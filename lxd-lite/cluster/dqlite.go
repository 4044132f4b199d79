package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/canonical/go-dqlite/app"
	dqclient "github.com/canonical/go-dqlite/client"
)

// dbName is the database lited keeps in dqlite.
const dbName = "lite"

// readyTimeout bounds how long a node may take to find the cluster (and join it).
const readyTimeout = 60 * time.Second

// node is this member's dqlite node and the database served through it.
type node struct {
	app *app.App
	sql *sql.DB
	log *slog.Logger
	// dial reaches another node (TLS with the cluster certificate).
	dial dqclient.DialFunc
}

// startNode starts the dqlite node kept in dir, listening on address with TLS between nodes
// by the cluster certificate (each node presents it and accepts only it). join lists the
// nodes of the cluster a new node joins (none: bootstrap, or a node that already has
// state in dir).
func startNode(ctx context.Context, dir string, cert tls.Certificate, address string, join []string, log *slog.Logger) (*node, error) {
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("cluster certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	listen, dial := app.SimpleTLSConfig(cert, pool)
	opts := []app.Option{
		app.WithAddress(address), app.WithTLS(listen, dial),
		app.WithLogFunc(dqliteLog(log)),
		app.WithRolesAdjustmentFrequency(5 * time.Second),
	}
	if len(join) > 0 {
		opts = append(opts, app.WithCluster(join))
	}
	// go-dqlite names its node's abstract unix socket after the node id, and every
	// bootstrap node has the same id: two lited in one network namespace (tests, or a
	// second LITE_DIR) would collide. Its only knob for a prefix is this variable.
	if err := os.Setenv("SNAP_INSTANCE_NAME", fmt.Sprintf("lite-%d", os.Getpid())); err != nil {
		return nil, err
	}
	a, err := app.New(dir, opts...)
	if err != nil {
		return nil, fmt.Errorf("start the database node on %s: %w", address, err)
	}
	rctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := a.Ready(rctx); err != nil {
		_ = a.Close()
		return nil, fmt.Errorf("database node on %s: no cluster reached within %s (are the other members up?): %w", address, readyTimeout, err)
	}
	db, err := openDB(rctx, dir, dbName, dial, log)
	if err != nil {
		_ = a.Close()
		return nil, fmt.Errorf("open the cluster database: %w", err)
	}
	return &node{app: a, sql: db, log: log, dial: dqclient.DialFuncWithTLS(dqclient.DefaultDialFunc, dial)}, nil
}

// handoverTimeout bounds the handover of this node's roles at shutdown: without a quorum
// nobody can take them, and the node stops all the same.
const handoverTimeout = 5 * time.Second

// close hands this node's roles to another one (so the others keep a quorum while lited
// restarts) and stops it, giving up on either when ctx ends. The database must be closed
// before.
func (n *node) close(ctx context.Context) error {
	hctx, cancel := context.WithTimeout(ctx, handoverTimeout)
	defer cancel()
	if err := within(hctx, func() error { return n.app.Handover(hctx) }); err != nil {
		n.log.Warn("hand over the database roles", "err", err)
	}
	if err := within(ctx, n.app.Close); err != nil {
		return fmt.Errorf("stop the database node: %w", err)
	}
	return nil
}

// remove takes the node at address out of the dqlite cluster.
func (n *node) remove(ctx context.Context, address string) error {
	cli, err := n.app.Leader(ctx)
	if err != nil {
		return fmt.Errorf("find the database leader: %w", err)
	}
	defer cli.Close()
	nodes, err := cli.Cluster(ctx)
	if err != nil {
		return fmt.Errorf("list database nodes: %w", err)
	}
	for _, ni := range nodes {
		if ni.Address == address {
			if err := cli.Remove(ctx, ni.ID); err != nil {
				return fmt.Errorf("remove database node %s: %w", address, err)
			}
			return nil
		}
	}
	return nil // not (or no longer) a node
}

// roles returns the dqlite role of each node address (voter, stand-by, spare). The leader
// is the one this node knows of: app.Leader would ask every node in turn, and one that
// stopped answering would use up ctx first.
func (n *node) roles(ctx context.Context) (map[string]string, error) {
	local, err := n.app.Client(ctx)
	if err != nil {
		return nil, err
	}
	defer local.Close()
	li, err := local.Leader(ctx)
	if err != nil {
		return nil, err
	}
	if li == nil || li.Address == "" {
		return nil, fmt.Errorf("no database leader known")
	}
	cli := local
	if li.ID != n.app.ID() {
		if cli, err = dqclient.New(ctx, li.Address, dqclient.WithDialFunc(n.dial), dqclient.WithLogFunc(dqliteLog(n.log))); err != nil {
			return nil, err
		}
		defer cli.Close()
	}
	nodes, err := cli.Cluster(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, ni := range nodes {
		switch ni.Role {
		case dqclient.Voter:
			out[ni.Address] = "database"
		case dqclient.StandBy:
			out[ni.Address] = "database-standby"
		default:
			out[ni.Address] = "database-spare"
		}
	}
	return out, nil
}

// dqliteLog sends dqlite's log to lited's, at debug level but warnings and errors.
func dqliteLog(log *slog.Logger) dqclient.LogFunc {
	return func(l dqclient.LogLevel, format string, a ...any) {
		msg := fmt.Sprintf(format, a...)
		switch l {
		case dqclient.LogError:
			log.Error("dqlite: " + msg)
		case dqclient.LogWarn:
			log.Warn("dqlite: " + msg)
		default:
			log.Debug("dqlite: " + msg)
		}
	}
}
