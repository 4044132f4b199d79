package cluster

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"lite/client"
	"lite/client/api"
	"lite/client/trust"
	"lite/db"
)

// maxClockSkew is how far apart a joining server's clock and the member's may be:
// heartbeats compare times written by different members.
const maxClockSkew = 30 * time.Second

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateToken makes a single-use join token for a new member called name, valid for ttl.
func (s *Service) CreateToken(ctx context.Context, name string, ttl time.Duration) (api.ClusterMemberJoinToken, error) {
	if !s.Enabled() {
		return api.ClusterMemberJoinToken{}, errNotClustered
	}
	if err := checkName(name); err != nil {
		return api.ClusterMemberJoinToken{}, err
	}
	if _, err := s.db.GetNode(ctx, name); err == nil {
		return api.ClusterMemberJoinToken{}, fmt.Errorf("a cluster member is already called %q: %w", name, api.ErrAlreadyExists)
	} else if !errors.Is(err, api.ErrNotFound) {
		return api.ClusterMemberJoinToken{}, err
	}
	nodes, err := s.db.GetNodes(ctx)
	if err != nil {
		return api.ClusterMemberJoinToken{}, err
	}
	addrs := make([]string, 0, len(nodes))
	for _, n := range nodes {
		addrs = append(addrs, n.Address)
	}
	now := s.now()
	secret := trust.NewSecret()
	if err := s.db.CreateClusterToken(ctx, hashSecret(secret), name, now.Add(ttl), now); err != nil {
		if errors.Is(err, api.ErrAlreadyExists) {
			return api.ClusterMemberJoinToken{}, fmt.Errorf("a join token for %q is pending already (it expires by itself): %w", name, api.ErrAlreadyExists)
		}
		return api.ClusterMemberJoinToken{}, err
	}
	cert, _ := s.Certificate()
	return api.ClusterMemberJoinToken{ServerName: name, Fingerprint: trust.Fingerprint(cert.Certificate[0]),
		Addresses: addrs, Secret: secret, ExpiresAt: now.Add(ttl).UTC().Format(time.RFC3339)}, nil
}

// Accept lets a server join with a token (the member's side of a join). Every refusal
// leaves the cluster as it was; the token is used up only by a join that is accepted.
func (s *Service) Accept(ctx context.Context, req api.ClusterJoinRequest) (api.ClusterJoinResponse, error) {
	if !s.Enabled() {
		return api.ClusterJoinResponse{}, errNotClustered
	}
	h := hashSecret(req.Secret)
	name, exp, err := s.db.ClusterToken(ctx, h)
	if errors.Is(err, api.ErrNotFound) || (err == nil && name != req.ServerName) {
		return api.ClusterJoinResponse{}, fmt.Errorf("join token refused: unknown, already used, revoked, or for another member name: get a new one with \"lite cluster add NAME\": %w", api.ErrForbidden)
	}
	if err != nil {
		return api.ClusterJoinResponse{}, err
	}
	now := s.now()
	if !now.Before(exp) {
		return api.ClusterJoinResponse{}, fmt.Errorf("join token for %q expired at %s: get a new one with \"lite cluster add %s\": %w", name, exp.UTC().Format(time.RFC3339), name, api.ErrForbidden)
	}
	theirs, err := time.Parse(time.RFC3339Nano, req.Time)
	if err != nil {
		return api.ClusterJoinResponse{}, fmt.Errorf("join request without a valid time: %w", api.ErrInvalid)
	}
	if skew := now.Sub(theirs).Abs(); skew > maxClockSkew {
		return api.ClusterJoinResponse{}, fmt.Errorf("the clock of the joining server is %s off from member %q's (%s at most): set both clocks right (NTP) and join again: %w",
			skew.Round(time.Second), s.LocalName(), maxClockSkew, api.ErrInvalid)
	}
	if _, _, err := memberAddresses(req.Address, req.DatabaseAddress); err != nil {
		return api.ClusterJoinResponse{}, err
	}
	err = s.db.AcceptNode(ctx, h, db.Node{Name: req.ServerName, Address: req.Address, DBAddress: req.DatabaseAddress,
		Architecture: req.Architecture, Heartbeat: now, CreatedAt: now})
	if errors.Is(err, api.ErrNotFound) {
		return api.ClusterJoinResponse{}, fmt.Errorf("join token refused: already used: %w", api.ErrForbidden)
	}
	if errors.Is(err, api.ErrAlreadyExists) {
		return api.ClusterJoinResponse{}, fmt.Errorf("a cluster member already has the name %q or the address %s: %w", req.ServerName, req.Address, api.ErrAlreadyExists)
	}
	if err != nil {
		return api.ClusterJoinResponse{}, err
	}
	nodes, err := s.db.GetNodes(ctx)
	if err != nil {
		return api.ClusterJoinResponse{}, err
	}
	resp := api.ClusterJoinResponse{DatabaseAddresses: []string{}}
	for _, n := range nodes {
		if n.Name != req.ServerName {
			resp.DatabaseAddresses = append(resp.DatabaseAddresses, n.DBAddress)
		}
	}
	resp.Certificate, resp.Key, err = s.keyPairPEM()
	if err != nil {
		return api.ClusterJoinResponse{}, err
	}
	s.log.Info("a server joined the cluster", "name", req.ServerName, "address", req.Address)
	s.notify()
	return resp, nil
}

// keyPairPEM reads the cluster certificate and key files.
func (s *Service) keyPairPEM() (string, string, error) {
	c, err := os.ReadFile(s.path(certFile))
	if err != nil {
		return "", "", fmt.Errorf("read the cluster certificate: %w", err)
	}
	k, err := os.ReadFile(s.path(keyFile))
	if err != nil {
		return "", "", fmt.Errorf("read the cluster key: %w", err)
	}
	return string(c), string(k), nil
}

// JoinOptions say how this lited joins a cluster.
type JoinOptions struct {
	Name                    string // "" : the token's
	Token                   string
	HTTPSAddress, DBAddress string
	// ServerCert and ServerKey are this lited's HTTPS key pair files, presented to the
	// member it contacts.
	ServerCert, ServerKey string
}

// Join makes this lited a member of the cluster the token is for. It must hold no
// instance (as LXD): its own database is replaced by the cluster's.
func (s *Service) Join(ctx context.Context, o JoinOptions) error {
	s.op.Lock()
	defer s.op.Unlock()
	if s.Enabled() {
		return fmt.Errorf("this server is already cluster member %q: %w", s.LocalName(), api.ErrConflict)
	}
	tok, err := trust.DecodeClusterToken(o.Token)
	if err != nil {
		return err
	}
	if o.Name == "" {
		o.Name = tok.ServerName
	}
	if o.Name != tok.ServerName {
		return fmt.Errorf("the join token is for a member called %q, not %q: %w", tok.ServerName, o.Name, api.ErrInvalid)
	}
	if n, err := s.db.CountInstances(ctx); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("this server has %d instances: a server joins a cluster empty (as LXD), its database is replaced by the cluster's; delete them or move them away first: %w", n, api.ErrConflict)
	}
	https, dbAddr, err := memberAddresses(o.HTTPSAddress, o.DBAddress)
	if err != nil {
		return err
	}
	o.ServerCert, o.ServerKey = s.serverPair(o.ServerCert, o.ServerKey)
	pair, err := loadCertPair(o.ServerCert, o.ServerKey)
	if err != nil {
		return err
	}
	req := api.ClusterJoinRequest{ServerName: o.Name, Secret: tok.Secret, Address: https, DatabaseAddress: dbAddr,
		Architecture: runtime.GOARCH, Time: s.now().UTC().Format(time.RFC3339Nano)}
	resp, err := acceptBy(ctx, tok, pair, req)
	if err != nil {
		return err
	}
	if err := s.join(ctx, member{Name: o.Name, Address: https, DBAddress: dbAddr}, resp); err != nil {
		if rerr := os.RemoveAll(s.path()); rerr != nil {
			s.log.Warn("remove the state of a failed join", "err", rerr)
		}
		return fmt.Errorf("%w (the cluster recorded %q already: remove it there with \"lite cluster remove %s --force\" before joining again)", err, o.Name, o.Name)
	}
	s.log.Info("joined the cluster", "name", o.Name, "address", https, "database", dbAddr)
	return nil
}

// acceptBy presents req to the members named in the token, in turn, pinning the cluster
// certificate's fingerprint; a refusal (wrong token, name taken, clock) ends the attempt.
func acceptBy(ctx context.Context, tok api.ClusterMemberJoinToken, pair tls.Certificate, req api.ClusterJoinRequest) (*api.ClusterJoinResponse, error) {
	var errs []error
	for _, addr := range tok.Addresses {
		c, err := client.ConnectHTTPS("https://"+addr, pair, tok.Fingerprint)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		resp, err := c.AcceptClusterMember(ctx, req)
		if err == nil {
			return resp, nil
		}
		if !errors.Is(err, api.ErrUnavailable) {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("no member of the cluster answered: %w", errors.Join(errs...))
}

// join writes the cluster certificate, joins dqlite and moves lited onto it.
func (s *Service) join(ctx context.Context, m member, resp *api.ClusterJoinResponse) error {
	if err := s.freshStateDir(); err != nil {
		return err
	}
	if err := writeNewFile(s.path(certFile), resp.Certificate); err != nil {
		return err
	}
	if err := writeNewFile(s.path(keyFile), resp.Key); err != nil {
		return err
	}
	cert, certPEM, err := loadCert(s.path(certFile), s.path(keyFile))
	if err != nil {
		return err
	}
	n, err := startNode(ctx, s.path(dqliteDir), cert, m.DBAddress, resp.DatabaseAddresses, s.log)
	if err != nil {
		return err
	}
	dst, err := db.OpenConn(ctx, n.sql)
	if err == nil {
		err = s.writeMember(m)
	}
	if err != nil {
		_ = n.sql.Close()
		_ = n.close(ctx)
		return err
	}
	sqlitePath := s.db.SQLitePath()
	if err := s.db.Swap(dst); err != nil {
		s.log.Warn("close the SQLite database", "err", err)
	}
	s.setAsideSQLite(sqlitePath)
	s.become(m, &cert, certPEM, n)
	s.startLoops()
	return nil
}

// writeNewFile writes a new 0600 file.
func writeNewFile(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
