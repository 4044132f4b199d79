package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"lite/client/api"
	"lite/client/trust"
	"lite/db"
)

// serveTLS serves h over HTTPS on loopback (httptest's certificate, which every
// fakeCluster's ClientTLS trusts) and returns its URL.
func serveTLS(t *testing.T, h http.Handler) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(h)
	ts.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	ts.StartTLS()
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

func (c *fakeCluster) Members(context.Context) ([]api.ClusterMember, error) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	out := []api.ClusterMember{}
	for name, u := range c.m.urls {
		st := api.ClusterMemberOnline
		if !c.m.online[name] {
			st = api.ClusterMemberOffline
		}
		out = append(out, api.ClusterMember{ServerName: name, URL: u, Status: st})
	}
	return out, nil
}

func (c *fakeCluster) Member(ctx context.Context, name string) (api.ClusterMember, error) {
	list, _ := c.Members(ctx)
	for _, m := range list {
		if m.ServerName == name {
			return m, nil
		}
	}
	return api.ClusterMember{}, fmt.Errorf("cluster member %q: %w", name, api.ErrNotFound)
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

// IsPeer: the members present the one client certificate of the membership.
func (c *fakeCluster) IsPeer(der []byte) bool {
	return len(c.m.tls.Certificates) > 0 && bytes.Equal(der, c.m.tls.Certificates[0].Certificate[0])
}

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
		tls: ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()}
	ts.Close()
	// The members' client certificate (the cluster certificate, in lited).
	cert, err := trust.KeyPair(filepath.Join(t.TempDir(), "member.crt"), filepath.Join(t.TempDir(), "member.key"), "member")
	if err != nil {
		t.Fatal(err)
	}
	ms.tls.Certificates = []tls.Certificate{cert}
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
