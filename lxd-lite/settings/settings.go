// Package settings is the server's own state beside its instances, images and networks: the
// server config keys and the trust store of client certificates. Handlers reach both through
// it, never through the database.
package settings

import (
	"context"
	"time"

	"lite/client/api"
	"lite/client/trust"
	"lite/db"
	"lite/profiles"
)

// Service reads and changes the server config and the trust store.
type Service struct {
	DB *db.DB
}

// Config returns the server config: every key of profiles.ServerKeys that is set.
func (s *Service) Config(ctx context.Context) (map[string]string, error) {
	return s.DB.GetServerConfig(ctx, profiles.ServerKeys())
}

// ReplaceConfig stores cfg as the whole server config (the caller validated it).
func (s *Service) ReplaceConfig(ctx context.Context, cfg map[string]string) error {
	return s.DB.ReplaceServerConfig(ctx, profiles.ServerKeys(), cfg)
}

// TokenTTL is how long a new join token lives: core.remote_token_expiry, or the default.
func (s *Service) TokenTTL(ctx context.Context) (time.Duration, error) {
	v, err := s.DB.GetConfig(ctx, "core.remote_token_expiry")
	if err != nil || v == "" {
		return trust.DefaultTokenTTL, err
	}
	return time.ParseDuration(v)
}

// Certificates lists the trusted client certificates.
func (s *Service) Certificates(ctx context.Context) ([]api.Certificate, error) {
	return s.DB.GetCertificates(ctx)
}

// Certificate returns one trusted certificate by fingerprint (ErrNotFound when not trusted).
func (s *Service) Certificate(ctx context.Context, fingerprint string) (*api.Certificate, error) {
	return s.DB.GetCertificate(ctx, fingerprint)
}

// Trust adds a client certificate to the trust store.
func (s *Service) Trust(ctx context.Context, c api.Certificate) error {
	return s.DB.CreateCertificate(ctx, c)
}

// Untrust removes a client certificate from the trust store; its next request is refused.
func (s *Service) Untrust(ctx context.Context, fingerprint string) error {
	return s.DB.DeleteCertificate(ctx, fingerprint)
}
