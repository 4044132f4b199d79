package client

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/websocket"

	"lite/client/api"
)

// ConnectHTTPS returns a client for a lited (or LXD) serving the API over HTTPS at rawURL
// (https://HOST:PORT). It presents clientCert and accepts only a server whose certificate
// has the SHA-256 fingerprint pinned: a changed certificate is refused, never trusted.
func ConnectHTTPS(rawURL string, clientCert tls.Certificate, pinned string) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("remote address %q: want https://HOST:PORT: %w", rawURL, api.ErrInvalid)
	}
	if len(pinned) != 64 {
		return nil, fmt.Errorf("remote %s: no pinned certificate fingerprint: add the remote again with a token: %w", rawURL, api.ErrInvalid)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "8443")
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{clientCert},
		// The chain is not checked against CAs: the pinned fingerprint is the trust anchor,
		// checked in VerifyConnection on every handshake.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("server at %s sent no certificate", addr)
			}
			if got := certFingerprint(cs.PeerCertificates[0].Raw); got != pinned {
				return &pinError{addr: addr, got: got, want: pinned}
			}
			return nil
		},
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			var pe *pinError
			if errors.As(err, &pe) {
				return nil, pe
			}
			return nil, &connError{kind: api.ErrUnavailable, cause: err, msg: fmt.Sprintf("cannot reach %s: %v", rawURL, err)}
		}
		return conn, nil
	}
	probe, err := dial(context.Background(), "", "")
	if err != nil {
		return nil, err
	}
	_ = probe.Close()
	return &Client{
		socket: rawURL,
		http: &http.Client{Transport: &http.Transport{
			DialContext: dial, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second,
		}},
		ws: &websocket.Dialer{NetDialContext: dial, HandshakeTimeout: 10 * time.Second},
	}, nil
}

// pinError is a server certificate that is not the pinned one.
type pinError struct{ addr, got, want string }

func (e *pinError) Error() string {
	return fmt.Sprintf("server certificate of %s changed: fingerprint %s, pinned %s; refusing to connect "+
		"(if the server was really re-keyed, remove the remote and add it again with a new token)", e.addr, e.got, e.want)
}

func (e *pinError) Is(target error) bool { return target == api.ErrForbidden }

func certFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// UpdateServer replaces the server config (PUT /1.0).
func (c *Client) UpdateServer(ctx context.Context, put api.ServerPut) error {
	_, err := c.do(ctx, request{method: http.MethodPut, path: "/1.0", body: put})
	return err
}

// GetCertificates returns the trusted client certificates.
func (c *Client) GetCertificates(ctx context.Context) ([]api.Certificate, error) {
	var list []api.Certificate
	if err := c.get(ctx, "/1.0/certificates", url.Values{"recursion": {"1"}}, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// CreateCertificateToken asks for a join token for a client called name; the operation's
// metadata holds it (clientName, fingerprint, addresses, secret, expiresAt).
func (c *Client) CreateCertificateToken(ctx context.Context, name string) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodPost, path: "/1.0/certificates", body: api.CertificatesPost{
		CertificatePut: api.CertificatePut{Name: name, Type: api.CertificateTypeClient}, Token: true}})
}

// JoinWithToken presents a join token: the server trusts this client's certificate.
func (c *Client) JoinWithToken(ctx context.Context, token string) error {
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/1.0/certificates", body: api.CertificatesPost{
		CertificatePut: api.CertificatePut{Type: api.CertificateTypeClient}, TrustToken: token, Password: token}})
	return err
}

// DeleteCertificate removes a trusted certificate by fingerprint (or a unique prefix).
func (c *Client) DeleteCertificate(ctx context.Context, fingerprint string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: apiPath("/1.0/certificates", fingerprint)})
	return err
}
