package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"lite/client/api"
	"lite/client/trust"
	"lite/lxd-lite/operations"
	"lite/profiles"
)

var certificateEndpoints = []endpoint{
	{"GET /1.0/certificates", listCertificates},
	{"POST /1.0/certificates", createCertificate},
	{"GET /1.0/certificates/{fp}", getCertificate},
	{"DELETE /1.0/certificates/{fp}", deleteCertificate},
}

func certificateURL(fp string) string { return "/1.0/certificates/" + fp }

func listCertificates(s *Server, r *http.Request) Response {
	certs, err := s.Settings.Certificates(r.Context())
	if err != nil {
		return Error(err)
	}
	if recursion(r) == "" || recursion(r) == "0" {
		urls := []string{}
		for _, c := range certs {
			urls = append(urls, certificateURL(c.Fingerprint))
		}
		return Sync(urls)
	}
	return Sync(certs)
}

// findCertificate resolves a fingerprint or a unique prefix of one, as LXD does.
func (s *Server) findCertificate(ctx context.Context, prefix string) (*api.Certificate, error) {
	certs, err := s.Settings.Certificates(ctx)
	if err != nil {
		return nil, err
	}
	var found *api.Certificate
	for i, c := range certs {
		if prefix != "" && strings.HasPrefix(c.Fingerprint, strings.ToLower(prefix)) {
			if found != nil {
				return nil, fmt.Errorf("certificate prefix %q matches more than one certificate: %w", prefix, api.ErrInvalid)
			}
			found = &certs[i]
		}
	}
	if found == nil {
		return nil, fmt.Errorf("certificate %q: %w", prefix, api.ErrNotFound)
	}
	return found, nil
}

func getCertificate(s *Server, r *http.Request) Response {
	c, err := s.findCertificate(r.Context(), r.PathValue("fp"))
	if err != nil {
		return Error(err)
	}
	return Sync(c)
}

func deleteCertificate(s *Server, r *http.Request) Response {
	c, err := s.findCertificate(r.Context(), r.PathValue("fp"))
	if err != nil {
		return Error(err)
	}
	if err := s.Settings.Untrust(r.Context(), c.Fingerprint); err != nil {
		return Error(err)
	}
	return EmptySync()
}

// createCertificate adds a trusted certificate: from a trusted client, a PEM certificate or
// a request for a join token; from an untrusted one, a join token, which trusts the TLS
// client certificate it connected with under the name the token was made for.
func createCertificate(s *Server, r *http.Request) Response {
	var req api.CertificatesPost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if req.Type != "" && req.Type != api.CertificateTypeClient {
		return Errorf(api.ErrInvalid, "certificate type %q is not supported: lite trusts clients only (type client)", req.Type)
	}
	if req.Restricted || len(req.Projects) > 0 {
		return Errorf(api.ErrInvalid, "restricted certificates are not supported: lite has no projects")
	}
	if !isTrusted(r) {
		return s.joinWithToken(r, req)
	}
	if req.Token {
		return s.createToken(r, req.Name)
	}
	pemText := req.Certificate
	if pemText == "" {
		return Errorf(api.ErrInvalid, "no certificate given: send one (PEM) or ask for a join token (token: true)")
	}
	if !strings.Contains(pemText, "BEGIN CERTIFICATE") {
		pemText = "-----BEGIN CERTIFICATE-----\n" + pemText + "\n-----END CERTIFICATE-----\n" // LXD sends base64 DER
	}
	fp, der, err := trust.PEMFingerprint(pemText)
	if err != nil {
		return Error(err)
	}
	if err := profiles.ValidateProfileName(req.Name); err != nil {
		return Errorf(api.ErrInvalid, "certificate name %q: %v", req.Name, err)
	}
	c := api.Certificate{CertificatePut: api.CertificatePut{Name: req.Name, Type: api.CertificateTypeClient, Projects: []string{}, Certificate: trust.EncodePEM(der)}, Fingerprint: fp}
	if err := s.Settings.Trust(r.Context(), c); err != nil {
		return Error(err)
	}
	return Created(certificateURL(fp))
}

func (s *Server) joinWithToken(r *http.Request, req api.CertificatesPost) Response {
	token := req.TrustToken
	if token == "" {
		token = req.Password
	}
	if token == "" {
		return Errorf(api.ErrForbidden, "not authorized: an untrusted client must present a join token (from \"lite config trust add NAME\")")
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return Errorf(api.ErrInvalid, "no TLS client certificate: connect with the certificate to trust")
	}
	if s.Remote == nil {
		return Errorf(api.ErrForbidden, "join tokens are not enabled on this server")
	}
	p, err := s.Remote.Tokens.Take(token)
	if err != nil {
		return Error(err)
	}
	der := r.TLS.PeerCertificates[0].Raw
	c := api.Certificate{CertificatePut: api.CertificatePut{Name: p.Name, Type: api.CertificateTypeClient, Projects: []string{}, Certificate: trust.EncodePEM(der)}, Fingerprint: trust.Fingerprint(der)}
	err = s.Settings.Trust(r.Context(), c)
	p.Done(err)
	if err != nil {
		return Error(err)
	}
	s.Log.Info("trusted a client certificate with a join token", "name", p.Name, "fingerprint", c.Fingerprint)
	return Created(certificateURL(c.Fingerprint))
}

// createToken starts a token operation: it shows LXD's token metadata and runs until the
// token is used, expires, or is cancelled (which revokes it).
func (s *Server) createToken(r *http.Request, name string) Response {
	if err := profiles.ValidateProfileName(name); err != nil {
		return Errorf(api.ErrInvalid, "client name %q: %v", name, err)
	}
	if s.Remote == nil || s.Remote.Fingerprint == "" {
		return Errorf(api.ErrInvalid, "this server has no HTTPS certificate yet: set core.https_address first")
	}
	certs, err := s.Settings.Certificates(r.Context())
	if err != nil {
		return Error(err)
	}
	for _, c := range certs {
		if c.Name == name {
			return Errorf(api.ErrAlreadyExists, "a certificate named %q is already trusted (remove it first)", name)
		}
	}
	ttl, err := s.Settings.TokenTTL(r.Context())
	if err != nil {
		return Error(err)
	}
	p := &trust.Pending{Name: name, Secret: trust.NewSecret(), Expires: time.Now().Add(ttl)}
	used := make(chan error, 1)
	s.Remote.Tokens.Add(p, func(err error) { used <- err })
	op := s.Ops.Start(operations.Spec{
		Class: api.OperationClassToken, Description: "Executing operation", MayCancel: true,
		Metadata: map[string]any{
			"request":    api.CertificatesPost{CertificatePut: api.CertificatePut{Name: name, Type: api.CertificateTypeClient}, Token: true},
			"clientName": name, "secret": p.Secret, "fingerprint": s.Remote.Fingerprint,
			"addresses": s.Remote.Addresses(), "expiresAt": p.Expires.UTC().Format(time.RFC3339),
		},
		Run: func(ctx context.Context, _ *operations.Op) error {
			timer := time.NewTimer(ttl)
			defer timer.Stop()
			select {
			case err := <-used:
				return err
			case <-timer.C:
				s.Remote.Tokens.Drop(p.Secret)
				return errors.New("join token expired")
			case <-ctx.Done():
				s.Remote.Tokens.Drop(p.Secret)
				return errors.New("join token revoked")
			}
		},
	})
	return Async(op)
}
