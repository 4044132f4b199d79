package server_test

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/server"
)

// openTestDB opens a daemon database in dir. It also adds instances.node when the schema
// lacks it: the column is the cluster schema update's (branch cl-core), and this stand-in,
// through a second connection, does nothing once that update is in.
func openTestDB(t *testing.T, dir string) *db.DB {
	t.Helper()
	path := filepath.Join(dir, "lite.db")
	database, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow(`SELECT count(*) FROM pragma_table_info('instances') WHERE name = 'node'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		if _, err := raw.Exec(`ALTER TABLE instances ADD COLUMN node TEXT NOT NULL DEFAULT ''`); err != nil {
			t.Fatal(err)
		}
	}
	return database
}

// serveTLS serves h over HTTPS on loopback (httptest's certificate, which every
// fakeCluster's ClientTLS trusts) and returns its URL.
func serveTLS(t *testing.T, h http.Handler) string {
	t.Helper()
	ts := httptest.NewTLSServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

// members is the membership every member's fakeCluster view shares.
type members struct {
	mu     sync.Mutex
	urls   map[string]string
	online map[string]bool
	tls    *tls.Config
}

// fakeCluster is one member's view of the cluster.
type fakeCluster struct {
	local string
	m     *members
}

func (c *fakeCluster) nodeFunc() func() string {
	if c == nil {
		return nil
	}
	return c.LocalName
}

func (c *fakeCluster) LocalName() string { return c.local }

func (c *fakeCluster) Members(context.Context) ([]server.Member, error) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	out := []server.Member{}
	for name := range c.m.urls {
		out = append(out, server.Member{Name: name, Online: c.m.online[name]})
	}
	return out, nil
}

func (c *fakeCluster) MemberURL(_ context.Context, name string) (string, error) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	u, ok := c.m.urls[name]
	if !ok {
		return "", fmt.Errorf("member %q: %w", name, api.ErrNotFound)
	}
	return u, nil
}

func (c *fakeCluster) ClientTLS() *tls.Config { return c.m.tls }

func (m *members) setOnline(name string, on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.online[name] = on
}

// newCluster starts one daemon per name, all sharing one database, each forwarding to the
// others over HTTPS; the first name's env opened the database.
func newCluster(t *testing.T, names ...string) (map[string]*env, *members) {
	t.Helper()
	return newClusterWith(t, envOptions{}, names...)
}

// newClusterWith is newCluster with every member's env built from o.
func newClusterWith(t *testing.T, o envOptions, names ...string) (map[string]*env, *members) {
	t.Helper()
	// Every httptest server has the same certificate: a client of one trusts them all.
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	ms := &members{urls: map[string]string{}, online: map[string]bool{},
		tls: ts.Client().Transport.(*http.Transport).TLSClientConfig}
	ts.Close()
	envs := map[string]*env{}
	var shared *db.DB
	for _, name := range names {
		o.cluster, o.db = &fakeCluster{local: name, m: ms}, shared
		e := newEnvWith(t, o)
		shared = e.db
		envs[name] = e
		ms.urls[name], ms.online[name] = e.url, true
	}
	return envs, ms
}
