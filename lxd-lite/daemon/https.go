package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"lite/client/api"
	"lite/client/trust"
	"lite/lxd-lite/cluster"
	"lite/lxd-lite/server"
)

// httpsListener serves the API over TLS 1.3 on core.https_address (or lited --https). The
// address can change while lited runs: the new one is bound before the old one is closed.
type httpsListener struct {
	handler  http.Handler
	tls      *tls.Config
	fallback string // lited --https, used while core.https_address is unset
	log      *slog.Logger

	mu   sync.Mutex
	addr string
	srv  *http.Server
}

// newHTTPSListener loads (or makes, on first start) the server key pair in dir. A cluster
// member presents the cluster certificate instead (as LXD's members do), from the moment
// it joins.
func newHTTPSListener(dir string, cl *cluster.Service, log *slog.Logger) (*httpsListener, string, error) {
	host, _ := os.Hostname()
	pair, err := trust.KeyPair(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), host)
	if err != nil {
		return nil, "", err
	}
	h := &httpsListener{log: log, tls: &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c, _ := cl.Certificate(); c != nil {
				return c, nil
			}
			return &pair, nil
		},
		// Any client certificate is asked for and none is required: the API decides by
		// fingerprint, and an untrusted client may still present a join token.
		ClientAuth: tls.RequestClientCert,
	}}
	return h, trust.EncodePEM(pair.Certificate[0]), nil
}

// Set listens on addr ("" stops listening).
func (h *httpsListener) Set(addr string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if addr == "" {
		addr = h.fallback
	}
	if addr == h.addr && (addr == "" || h.srv != nil) {
		return nil
	}
	var srv *http.Server
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen on %s for HTTPS: %v: %w", addr, err, api.ErrInvalid)
		}
		srv = &http.Server{
			Handler: h.handler, TLSConfig: h.tls,
			// ReadHeaderTimeout also bounds the TLS handshake; idle keep-alive connections
			// are closed; headers are bounded.
			ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
			ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelDebug),
			// HTTP/1.1 only: websockets (exec, events, console) need it, and HTTP/2's
			// extra machinery is attack surface the API does not use.
			TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		}
		go func() {
			if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
				h.log.Error("HTTPS listener", "addr", ln.Addr().String(), "err", err)
			}
		}()
		h.log.Info("serving the API over HTTPS", "addr", ln.Addr().String())
	}
	old := h.srv
	h.srv, h.addr = srv, addr
	if old != nil {
		// Gracefully: the request that changed the address may be running on it.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := old.Shutdown(ctx); err != nil {
				_ = old.Close()
			}
		}()
	}
	return nil
}

// Addresses returns the address served now (none when off).
func (h *httpsListener) Addresses() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.srv == nil {
		return []string{}
	}
	return []string{h.addr}
}

// Close stops serving.
func (h *httpsListener) Close(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.srv != nil {
		_ = h.srv.Shutdown(ctx)
		h.srv = nil
	}
}

// startHTTPS wires the HTTPS side into srv and listens on the configured address.
func startHTTPS(ctx context.Context, dir, flagAddr string, srv *server.Server, log *slog.Logger) (*httpsListener, error) {
	h, certPEM, err := newHTTPSListener(dir, srv.Cluster, log)
	if err != nil {
		return nil, err
	}
	fp, _, err := trust.PEMFingerprint(certPEM)
	if err != nil {
		return nil, err
	}
	h.fallback = flagAddr
	srv.Remote = &server.Remote{
		Tokens: trust.NewTokens(), CertPEM: certPEM, Fingerprint: fp, Addresses: h.Addresses,
		Apply: func(_ context.Context, cfg map[string]string) error { return h.Set(cfg["core.https_address"]) },
	}
	h.handler = srv.HTTPSHandler()
	cfg, err := srv.Settings.Config(ctx)
	if err != nil {
		return nil, err
	}
	addr := cfg["core.https_address"]
	if err := h.Set(addr); err != nil {
		if addr == "" {
			return nil, err // lited --https: the user asked at this start, so say it now
		}
		log.Error("not serving HTTPS: core.https_address cannot be bound; set it again once it can", "addr", addr, "err", err)
	}
	return h, nil
}
