// Package settings is the server's own state beside its instances, images and networks: the
// server config keys and the trust store of client certificates. Handlers reach both through
// it, never through the database.
package settings

import (
	"context"
	"slices"
	"time"

	"lite/client/api"
	"lite/client/trust"
	"lite/db"
	"lite/profiles"
)

// Service reads and changes the server config and the trust store.
type Service struct {
	DB *db.DB
	// Member holds the keys that belong to one cluster member, not to the cluster (nil:
	// never a member, every key is in the database).
	Member MemberConfig
}

// MemberConfig is where a cluster member keeps its own keys (core.https_address: each
// member listens on its own address, while the database holds the cluster's config).
type MemberConfig interface {
	// MemberConfig returns the member's own keys, and false when lited is not a member.
	MemberConfig() (map[string]string, bool)
	// SetMemberConfig changes them (the caller validated the values).
	SetMemberConfig(cfg map[string]string) error
}

// Config returns the server config: every key of profiles.ServerKeys that is set.
func (s *Service) Config(ctx context.Context) (map[string]string, error) {
	cfg, err := s.DB.GetServerConfig(ctx, profiles.ServerKeys())
	if err != nil {
		return nil, err
	}
	if own, ok := s.memberConfig(); ok {
		for _, k := range MemberKeys {
			delete(cfg, k)
			if v := own[k]; v != "" {
				cfg[k] = v
			}
		}
	}
	return cfg, nil
}

// ReplaceConfig stores cfg as the whole server config (the caller validated it).
func (s *Service) ReplaceConfig(ctx context.Context, cfg map[string]string) error {
	if _, ok := s.memberConfig(); !ok {
		return s.DB.ReplaceServerConfig(ctx, profiles.ServerKeys(), cfg)
	}
	own := map[string]string{}
	var shared []string
	for _, k := range profiles.ServerKeys() {
		if slices.Contains(MemberKeys, k) {
			own[k] = cfg[k]
		} else {
			shared = append(shared, k)
		}
	}
	if err := s.Member.SetMemberConfig(own); err != nil {
		return err
	}
	return s.DB.ReplaceServerConfig(ctx, shared, cfg)
}

// MemberKeys are the server keys each cluster member has for itself.
var MemberKeys = []string{"core.https_address"}

func (s *Service) memberConfig() (map[string]string, bool) {
	if s.Member == nil {
		return nil, false
	}
	return s.Member.MemberConfig()
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
