package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"lite/client/api"
	"lite/client/trust"
	"lite/lxd-lite/cluster"
)

// untrustedDeadline bounds how long an untrusted request may take to send its body, so a
// slow client holds nothing for long.
const untrustedDeadline = 15 * time.Second

type authKey struct{}

// peer is who sent a request over HTTPS: the fingerprint of its client certificate (if
// any) and whether that certificate is trusted.
type peer struct {
	fingerprint string
	trusted     bool
	// member: the peer presented the cluster certificate (another member).
	member bool
}

// IsClusterPeer reports whether a request came over HTTPS from another cluster member
// (authenticated by the cluster certificate). Only such a request may carry the
// forwarding header; requests on the unix socket never are.
func IsClusterPeer(r *http.Request) bool {
	p, ok := r.Context().Value(authKey{}).(peer)
	return ok && p.member
}

// checkForwarded refuses the forwarding header from anyone but a member.
func checkForwarded(r *http.Request) Response {
	if r.Header.Get(cluster.ForwardedHeader) != "" && !IsClusterPeer(r) {
		return Errorf(api.ErrForbidden, "the %s header is only accepted from cluster members", cluster.ForwardedHeader)
	}
	return nil
}

// isTrusted reports whether the request may use the whole API: every unix socket request
// (the socket's mode is the gate), and HTTPS requests with a trusted client certificate.
func isTrusted(r *http.Request) bool {
	p, ok := r.Context().Value(authKey{}).(peer)
	return !ok || p.trusted
}

// untrustedAllowed are the requests an untrusted HTTPS client may make: learn what the
// server is, and present a join token.
func untrustedAllowed(r *http.Request) bool {
	switch {
	case r.Method == http.MethodGet && (r.URL.Path == "/1.0" || r.URL.Path == "/1.0/" || r.URL.Path == "/"):
		return true
	case r.Method == http.MethodPost && r.URL.Path == "/1.0/certificates":
		return true
	case r.Method == http.MethodPost && r.URL.Path == "/internal/cluster/accept":
		return true // a joining server; the token's secret is its credential
	}
	return false
}

// HTTPSHandler is Handler behind the trust check of the HTTPS listener. The trust store is
// read on every request, so a removed certificate is refused at once, also on a connection
// opened before.
func (s *Server) HTTPSHandler() http.Handler {
	inner := s.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.peerOf(r)
		if err != nil {
			s.Log.Error("trust check", "err", err)
			_ = Errorf(api.ErrInternal, "check the client certificate").Render(w)
			return
		}
		if !p.trusted {
			if !untrustedAllowed(r) {
				_ = Errorf(api.ErrForbidden, "not authorized: this client certificate is not trusted (add it with a token from \"lite config trust add NAME\")").Render(w)
				return
			}
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(untrustedDeadline))
		}
		inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authKey{}, p)))
	})
}

func (s *Server) peerOf(r *http.Request) (peer, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return peer{}, nil
	}
	der := r.TLS.PeerCertificates[0].Raw
	fp := trust.Fingerprint(der)
	if s.Route != nil && s.Route.IsPeer(der) {
		return peer{fingerprint: fp, trusted: true, member: true}, nil
	}
	_, err := s.Settings.Certificate(r.Context(), fp)
	if errors.Is(err, api.ErrNotFound) {
		return peer{fingerprint: fp}, nil
	}
	if err != nil {
		return peer{}, err
	}
	return peer{fingerprint: fp, trusted: true}, nil
}
