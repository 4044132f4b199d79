package server

import (
	"context"
	"maps"
	"net/http"

	"lite/client/api"
	"lite/client/trust"
	"lite/profiles"
)

// Remote is what the HTTPS side of the API needs: the server's certificate, the pending
// join tokens, the addresses it listens on, and the hook that applies a new server config.
type Remote struct {
	Tokens      *trust.Tokens
	CertPEM     string
	Fingerprint string
	// Addresses returns the HTTPS addresses lited listens on now.
	Addresses func() []string
	// Apply makes a new server config take effect (binds core.https_address); an error
	// leaves the old one in force.
	Apply func(ctx context.Context, cfg map[string]string) error
}

var serverConfigEndpoints = []endpoint{
	{"PUT /1.0", putServer},
	{"PATCH /1.0", patchServer},
}

// getServer answers GET /1.0: the whole description to trusted clients, the API version and
// "auth: untrusted" to others (as LXD).
func getServer(s *Server, r *http.Request) Response {
	if !isTrusted(r) {
		return Sync(api.Server{
			ServerPut:     api.ServerPut{Config: map[string]string{}},
			APIExtensions: s.Info().APIExtensions, APIStatus: "stable", APIVersion: "1.0",
			Auth: "untrusted", AuthMethods: []string{"tls"},
			Environment: api.ServerEnvironment{Addresses: []string{}, Architectures: []string{},
				KernelFeatures: map[string]string{}, LXCFeatures: map[string]string{}, StorageSupportedDrivers: []any{}},
		})
	}
	info := s.Info()
	cfg, err := s.Settings.Config(r.Context())
	if err != nil {
		return Error(err)
	}
	info.Config = cfg
	if s.Remote != nil {
		info.Environment.Certificate = s.Remote.CertPEM
		info.Environment.CertificateFingerprint = s.Remote.Fingerprint
		info.Environment.Addresses = s.Remote.Addresses()
	}
	if name := s.Cluster.LocalName(); name != "" {
		info.Environment.ServerClustered = true
		info.Environment.ServerName = name
	}
	return Sync(info)
}

func putServer(s *Server, r *http.Request) Response {
	var req api.ServerPut
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	return s.setServerConfig(r.Context(), req.Config)
}

// patchServer merges the given keys into the config; an empty value unsets a key.
func patchServer(s *Server, r *http.Request) Response {
	var req api.ServerPut
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	cfg, err := s.Settings.Config(r.Context())
	if err != nil {
		return Error(err)
	}
	maps.Copy(cfg, req.Config)
	return s.setServerConfig(r.Context(), cfg)
}

// setServerConfig validates, applies, then stores; a store failure puts the old config back
// in force, so the listener and the database never disagree.
func (s *Server) setServerConfig(ctx context.Context, cfg map[string]string) Response {
	if cfg == nil {
		cfg = map[string]string{}
	}
	if err := profiles.ValidateServerConfig(cfg); err != nil {
		return Error(err)
	}
	old, err := s.Settings.Config(ctx)
	if err != nil {
		return Error(err)
	}
	if s.Remote != nil && s.Remote.Apply != nil {
		if err := s.Remote.Apply(ctx, cfg); err != nil {
			return Error(err)
		}
	}
	if err := s.Settings.ReplaceConfig(ctx, cfg); err != nil {
		if s.Remote != nil && s.Remote.Apply != nil {
			if rerr := s.Remote.Apply(ctx, old); rerr != nil {
				s.Log.Error("restore the old server config", "err", rerr)
			}
		}
		return Error(err)
	}
	return EmptySync()
}
