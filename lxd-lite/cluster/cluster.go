// Package cluster makes several lited one: the cluster's state in dqlite (Raft-replicated
// SQLite) instead of the local SQLite file, members that know each other's HTTPS address,
// join tokens, member-to-member TLS with the cluster certificate, and heartbeats that tell
// which members are online. On a single host the Service says so (Enabled is false) and
// everything else in lited behaves as before.
package cluster

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"lite/client"
	"lite/client/api"
	"lite/client/trust"
	"lite/db"
)

// Header names of member-to-member requests.
const (
	// ForwardedHeader marks a request one member forwarded to another (its value names the
	// sender); the receiver serves it locally and never forwards it again. Only a peer
	// authenticated with the cluster certificate may send it.
	ForwardedHeader = "X-Lite-Forwarded"
	// NotifyHeader marks a request a member makes to another on its own account.
	NotifyHeader = "Lite-Cluster-Notify"
)

// errNotClustered is what member operations answer on a single host.
var errNotClustered = fmt.Errorf("this server is not part of a cluster (make it one with \"lite cluster enable NAME\"): %w", api.ErrInvalid)

// Service is this lited's view of the cluster.
type Service struct {
	dir string
	db  *db.DB
	log *slog.Logger
	// now is the clock (tests move it).
	now func() time.Time

	// op serialises enable, join and remove.
	op sync.Mutex

	mu       sync.RWMutex
	self     member           // Name is "" when not clustered
	cert     *tls.Certificate // the cluster certificate and key
	certPEM  string
	node     *node
	onChange []func()
	stop     context.CancelFunc
	loops    sync.WaitGroup
}

// New returns the cluster service of a single-host lited with state dir dir and database
// d (Open is what lited uses at start: it also finds an existing membership).
func New(dir string, d *db.DB, log *slog.Logger) *Service {
	return &Service{dir: dir, db: d, log: log, now: time.Now}
}

// Open opens lited's database: on a cluster member (member.json in $LITE_DIR/cluster) the
// cluster's, through this member's dqlite node; otherwise the SQLite file sqlitePath. A
// state directory left by an enable or join that did not finish is removed: the SQLite
// database is still authoritative then.
func Open(ctx context.Context, dir, sqlitePath string, log *slog.Logger) (*Service, *db.DB, error) {
	s := New(dir, nil, log)
	m, ok, err := readMember(dir)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		if _, err := os.Stat(s.path()); err == nil {
			log.Warn("removing the state of a cluster enable or join that did not finish; the SQLite database stays in use", "dir", s.path())
			if err := os.RemoveAll(s.path()); err != nil {
				return nil, nil, fmt.Errorf("remove unfinished cluster state: %w", err)
			}
		}
		d, err := db.Open(ctx, sqlitePath)
		if err != nil {
			return nil, nil, err
		}
		s.db = d
		return s, d, nil
	}
	cert, certPEM, err := loadCert(s.path(certFile), s.path(keyFile))
	if err != nil {
		return nil, nil, err
	}
	n, err := startNode(ctx, s.path(dqliteDir), cert, m.DBAddress, nil, log)
	if err != nil {
		return nil, nil, err
	}
	d, err := db.OpenConn(ctx, n.sql)
	if err != nil {
		_ = n.sql.Close()
		_ = n.close(ctx)
		return nil, nil, err
	}
	s.db = d
	s.become(m, &cert, certPEM, n)
	// A member restarted beats again at once: without it, it would stay Offline.
	s.startLoops()
	log.Info("cluster member", "name", m.Name, "address", m.Address, "database", m.DBAddress)
	return s, d, nil
}

// become makes this service the member m, with the cluster certificate and database node.
func (s *Service) become(m member, cert *tls.Certificate, certPEM string, n *node) {
	s.mu.Lock()
	s.self, s.cert, s.certPEM, s.node = m, cert, certPEM, n
	s.mu.Unlock()
	s.notify()
}

// Close stops the member's loops and its database node; lited calls it after closing the
// database.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	stop, n := s.stop, s.node
	s.stop, s.node = nil, nil
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	s.loops.Wait()
	if n == nil {
		return nil
	}
	return n.close(ctx)
}

// Enabled reports whether this lited is a cluster member.
func (s *Service) Enabled() bool { return s.LocalName() != "" }

// LocalName is this member's name ("" when not clustered).
func (s *Service) LocalName() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.self.Name
}

// Certificate returns the cluster certificate and key, and its PEM (nil, "" when not
// clustered). Every member serves HTTPS with it, as LXD's members do.
func (s *Service) Certificate() (*tls.Certificate, string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cert, s.certPEM
}

// IsPeer reports whether a TLS peer certificate (DER) is the cluster certificate: the peer
// is another member (or this one).
func (s *Service) IsPeer(der []byte) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cert != nil && subtle.ConstantTimeCompare(der, s.cert.Certificate[0]) == 1
}

// MemberConfig returns the member's own server keys (settings.MemberConfig).
func (s *Service) MemberConfig() (map[string]string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.self.Name == "" {
		return nil, false
	}
	return map[string]string{"core.https_address": s.self.Address}, true
}

// SetMemberConfig refuses to move a member: the others reach it at its address.
func (s *Service) SetMemberConfig(cfg map[string]string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if cfg["core.https_address"] != s.self.Address {
		return fmt.Errorf("core.https_address of cluster member %q is %s and cannot change while it is a member (the others reach it there): %w",
			s.self.Name, s.self.Address, api.ErrConflict)
	}
	return nil
}

// OnChange registers fn, called in its own goroutine when members join, leave or change
// status.
func (s *Service) OnChange(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onChange = append(s.onChange, fn)
}

// notify calls the OnChange functions.
func (s *Service) notify() {
	s.mu.RLock()
	fns := append([]func(){}, s.onChange...)
	s.mu.RUnlock()
	for _, fn := range fns {
		go fn()
	}
}

// Members returns every member with its status (none on a single host).
func (s *Service) Members(ctx context.Context) ([]api.ClusterMember, error) {
	if !s.Enabled() {
		return []api.ClusterMember{}, nil
	}
	return s.members(ctx)
}

// Member returns one member.
func (s *Service) Member(ctx context.Context, name string) (api.ClusterMember, error) {
	if !s.Enabled() {
		return api.ClusterMember{}, errNotClustered
	}
	list, err := s.members(ctx)
	if err != nil {
		return api.ClusterMember{}, err
	}
	for _, m := range list {
		if m.ServerName == name {
			return m, nil
		}
	}
	return api.ClusterMember{}, fmt.Errorf("cluster member %q: %w", name, api.ErrNotFound)
}

// MemberURL returns https://HOST:PORT of member name.
func (s *Service) MemberURL(ctx context.Context, name string) (string, error) {
	m, err := s.Member(ctx, name)
	if err != nil {
		return "", err
	}
	return m.URL, nil
}

// ClientTLS is the TLS config of member-to-member connections: it presents the cluster
// certificate and accepts only a peer presenting it (nil when not clustered). HTTP/1.1
// only, as the members serve it.
func (s *Service) ClientTLS() *tls.Config {
	cert, _ := s.Certificate()
	if cert == nil {
		return nil
	}
	want := cert.Certificate[0]
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{*cert},
		NextProtos:   []string{"http/1.1"},
		// The cluster certificate is the trust anchor, compared whole on every handshake.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || subtle.ConstantTimeCompare(cs.PeerCertificates[0].Raw, want) != 1 {
				return fmt.Errorf("peer is not a member of this cluster (it does not present the cluster certificate): %w", api.ErrForbidden)
			}
			return nil
		},
	}
}

// Connect returns an HTTPS client to member name, authenticated with the cluster
// certificate.
func (s *Service) Connect(ctx context.Context, name string) (*client.Client, error) {
	u, err := s.MemberURL(ctx, name)
	if err != nil {
		return nil, err
	}
	cert, _ := s.Certificate()
	if cert == nil {
		return nil, errNotClustered
	}
	c, err := client.ConnectHTTPS(u, *cert, trust.Fingerprint(cert.Certificate[0]))
	if err != nil {
		return nil, fmt.Errorf("cluster member %q: %w", name, err)
	}
	return c.WithHeader(NotifyHeader, "1"), nil
}
