package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	neturl "net/url"
	"path/filepath"
	"strings"

	"lite/client"
	"lite/client/api"
	"lite/client/trust"
)

// ProtocolLite marks a remote that is another lited (or LXD) reached over HTTPS.
const ProtocolLite = "lite"

// ClientCert returns the CLI's client certificate, made on first use beside the config
// file (client.crt, client.key 0600).
func ClientCert() (tls.Certificate, error) {
	p, err := Path()
	if err != nil {
		return tls.Certificate{}, err
	}
	dir := filepath.Dir(p)
	if err := mkdirPrivate(dir); err != nil {
		return tls.Certificate{}, err
	}
	return trust.KeyPair(filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key"), "lite-client")
}

// AddLite records a lite server remote with its pinned certificate fingerprint.
func (c *Config) AddLite(name, addr, fingerprint string) error {
	if !nameRe.MatchString(name) || name == "local" {
		return fmt.Errorf("bad remote name %q: %w", name, api.ErrInvalid)
	}
	if _, ok := c.Remotes[name]; ok {
		return fmt.Errorf("remote %q already exists: %w", name, api.ErrAlreadyExists)
	}
	c.Remotes[name] = Remote{Addr: addr, Protocol: ProtocolLite, Fingerprint: fingerprint}
	return nil
}

// Join adds a lite server from a join token: it tries the token's addresses, pins the
// fingerprint the token names (a server with another certificate is refused), presents the
// token and records the remote.
func Join(ctx context.Context, name, token string) error { return JoinAt(ctx, name, "", token) }

// JoinAt is Join at the server URL names ("https://ADDR[:PORT]", port 8443 by default)
// instead of the token's addresses; the token's fingerprint is pinned all the same.
func JoinAt(ctx context.Context, name, url, token string) error {
	tok, err := trust.DecodeToken(token)
	if err != nil {
		return err
	}
	if url != "" {
		addr, err := serverAddr(url)
		if err != nil {
			return err
		}
		tok.Addresses = []string{addr}
	}
	c, err := Load()
	if err != nil {
		return err
	}
	if _, ok := c.Remotes[name]; ok || name == "local" {
		return fmt.Errorf("remote %q already exists: %w", name, api.ErrAlreadyExists)
	}
	cert, err := ClientCert()
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range tok.Addresses {
		addr := "https://" + a
		cl, err := client.ConnectHTTPS(addr, cert, tok.Fingerprint)
		if err == nil {
			err = join(ctx, cl, token)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a, err))
			continue
		}
		if err := c.AddLite(name, addr, tok.Fingerprint); err != nil {
			return err
		}
		return c.Save()
	}
	if len(errs) == 0 {
		return fmt.Errorf("token names no server address (is core.https_address set on the server?): %w", api.ErrInvalid)
	}
	return errors.Join(errs...)
}

// join presents the token, unless the server trusts this client already (another remote
// name for the same server): then, as in LXD, the token is left unused.
func join(ctx context.Context, cl *client.Client, token string) error {
	if srv, err := cl.GetServer(ctx); err == nil && srv.Auth == "trusted" {
		return nil
	}
	return cl.JoinWithToken(ctx, token)
}

// serverAddr returns HOST:PORT of a lite server URL.
func serverAddr(raw string) (string, error) {
	u, err := neturl.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil || u.RawQuery != "" {
		return "", fmt.Errorf("bad server URL %q: want https://ADDR[:PORT]: %w", raw, api.ErrInvalid)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "8443"), nil
	}
	return u.Host, nil
}

// Connect returns a client for a lite remote.
func Connect(name string) (*client.Client, error) {
	c, err := Load()
	if err != nil {
		return nil, err
	}
	r, ok := c.Remotes[name]
	if !ok {
		return nil, fmt.Errorf("remote %q not found (lite remote list shows them): %w", name, api.ErrNotFound)
	}
	if r.Protocol != ProtocolLite {
		return nil, fmt.Errorf("remote %q is an image server (%s), not a lite server: %w", name, r.Protocol, api.ErrInvalid)
	}
	cert, err := ClientCert()
	if err != nil {
		return nil, err
	}
	return client.ConnectHTTPS(r.Addr, cert, r.Fingerprint)
}

// Server tells which server ref ("host2:web1", "local:web1", "web1") names: a lite remote's
// name, LocalName for the daemon, or "" when ref has no server prefix (or names an image
// server, whose references the image commands resolve). A prefix that names no remote is an
// error.
func Server(ref string) (server, rest string, err error) {
	rname, rest, found := strings.Cut(ref, ":")
	if !found || !nameRe.MatchString(rname) {
		return "", ref, nil
	}
	if rname == LocalName {
		return LocalName, rest, nil
	}
	c, err := Load()
	if err != nil {
		return "", ref, err
	}
	r, err := c.get(rname)
	if err != nil {
		return "", rest, err
	}
	if r.Protocol != ProtocolLite {
		return "", ref, nil
	}
	return rname, rest, nil
}

// DefaultServer returns the default remote when it is a lite server (after `lite remote
// switch host2`), else "" (the local daemon, also when there is no config dir: no HOME).
func DefaultServer() (string, error) {
	if _, err := Path(); err != nil {
		return "", nil
	}
	c, err := Load()
	if err != nil {
		return "", err
	}
	if r, ok := c.Remotes[c.DefaultRemote]; ok && r.Protocol == ProtocolLite {
		return c.DefaultRemote, nil
	}
	return "", nil
}
