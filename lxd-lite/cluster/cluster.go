// Package cluster makes several lited one: the cluster's state in dqlite (Raft-replicated
// SQLite) instead of the local SQLite file, members that know each other's HTTPS address,
// join tokens, member-to-member TLS with the cluster certificate, and heartbeats that tell
// which members are online. On a single host the Service says so (Enabled is false) and
// everything else in lited behaves as before.
package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"

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
	log *slog.Logger

	mu       sync.RWMutex
	db       *db.DB
	name     string // this member's name, "" when not clustered
	tls      *tls.Config
	cert     *tls.Certificate // the cluster certificate and key
	onChange []func()
}

// New returns the cluster service of the lited with state dir dir and database d.
func New(dir string, d *db.DB, log *slog.Logger) *Service {
	return &Service{dir: dir, db: d, log: log}
}

// Enabled reports whether this lited is a cluster member.
func (s *Service) Enabled() bool { return s.LocalName() != "" }

// LocalName is this member's name ("" when not clustered).
func (s *Service) LocalName() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.name
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
// certificate and accepts only a peer presenting it (nil when not clustered).
func (s *Service) ClientTLS() *tls.Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.tls == nil {
		return nil
	}
	return s.tls.Clone()
}

// Connect returns an HTTPS client to member name, authenticated with the cluster
// certificate.
func (s *Service) Connect(ctx context.Context, name string) (*client.Client, error) {
	u, err := s.MemberURL(ctx, name)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	cert := s.cert
	s.mu.RUnlock()
	if cert == nil {
		return nil, errNotClustered
	}
	return client.ConnectHTTPS(u, *cert, trust.Fingerprint(cert.Certificate[0]))
}
