package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"lite/client/api"
	"lite/client/trust"
	"lite/db"
	"lite/lxd-lite/cluster"
	"lite/lxd-lite/events"
	"lite/lxd-lite/operations"
	"lite/lxd-lite/server"
	"lite/lxd-lite/settings"
)

// remoteEnv is a server with only what config and trust need, served on the unix side
// (trusted, by calling Handler) and over TLS (HTTPSHandler).
type remoteEnv struct {
	t         *testing.T
	db        *db.DB
	local     http.Handler
	https     *httptest.Server
	applied   []map[string]string
	failApply bool
}

func newRemoteEnv(t *testing.T) *remoteEnv {
	t.Helper()
	dir := t.TempDir()
	database, err := db.Open(context.Background(), filepath.Join(dir, "lite.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { database.Close() })
	e := &remoteEnv{t: t, db: database}
	srvCert, err := trust.KeyPair(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), "test")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server.Server{Settings: &settings.Service{DB: database}, Hub: events.NewHub(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Info: func() api.Server {
			return api.Server{ServerPut: api.ServerPut{Config: map[string]string{}}, Auth: "trusted"}
		}}
	srv.Ops = operations.NewManager(context.Background(), srv.Hub)
	srv.Cluster = cluster.New(dir, database, srv.Log)
	srv.Remote = &server.Remote{Tokens: trust.NewTokens(), CertPEM: trust.EncodePEM(srvCert.Certificate[0]),
		Fingerprint: trust.Fingerprint(srvCert.Certificate[0]), Addresses: func() []string { return []string{"127.0.0.1:1"} },
		Apply: func(_ context.Context, cfg map[string]string) error {
			if e.failApply {
				return errors.New("cannot bind")
			}
			e.applied = append(e.applied, cfg)
			return nil
		}}
	e.local = srv.Handler()
	e.https = httptest.NewUnstartedServer(srv.HTTPSHandler())
	e.https.TLS = &tls.Config{MinVersion: tls.VersionTLS13, ClientAuth: tls.RequestClientCert, Certificates: []tls.Certificate{srvCert}}
	e.https.StartTLS()
	t.Cleanup(e.https.Close)
	return e
}

// asLocal sends a request as a unix socket client (trusted).
func (e *remoteEnv) asLocal(method, path string, body any) (int, api.Response) {
	b, _ := json.Marshal(body)
	rec := httptest.NewRecorder()
	e.local.ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewReader(b)))
	var env api.Response
	_ = json.Unmarshal(rec.Body.Bytes(), &env)
	return rec.Code, env
}

// newPeer returns an HTTPS client with a fresh client certificate.
func (e *remoteEnv) newPeer() *http.Client {
	dir := e.t.TempDir()
	cert, err := trust.KeyPair(filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key"), "peer")
	if err != nil {
		e.t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}}}}
}

func (e *remoteEnv) as(c *http.Client, method, path string, body any) (int, api.Response) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, e.https.URL+path, bytes.NewReader(b))
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var env api.Response
	_ = json.NewDecoder(resp.Body).Decode(&env)
	return resp.StatusCode, env
}

// token asks for a join token for name and returns the printable token.
func (e *remoteEnv) token(name string) string {
	code, env := e.asLocal("POST", "/1.0/certificates", map[string]any{"name": name, "type": "client", "token": true})
	if code != http.StatusAccepted {
		e.t.Fatalf("token for %s: HTTP %d %s", name, code, env.Error)
	}
	var op api.Operation
	_ = json.Unmarshal(env.Metadata, &op)
	if op.Class != api.OperationClassToken {
		e.t.Fatalf("token operation class %q", op.Class)
	}
	tok, err := trust.EncodeToken(api.CertificateAddToken{ClientName: op.Metadata["clientName"].(string),
		Fingerprint: op.Metadata["fingerprint"].(string), Secret: op.Metadata["secret"].(string), Addresses: []string{"127.0.0.1:1"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func TestServerConfigValidatedAndApplied(t *testing.T) {
	e := newRemoteEnv(t)
	for _, cfg := range []map[string]string{{"core.https_address": "nope"}, {"core.bogus": "1"}, {"core.remote_token_expiry": "-1h"}} {
		if code, _ := e.asLocal("PUT", "/1.0", map[string]any{"config": cfg}); code != http.StatusBadRequest {
			t.Errorf("PUT %v: HTTP %d, want 400", cfg, code)
		}
	}
	if len(e.applied) != 0 {
		t.Fatalf("refused configs were applied: %v", e.applied)
	}
	if code, env := e.asLocal("PUT", "/1.0", map[string]any{"config": map[string]string{"core.https_address": "127.0.0.1:8443"}}); code != 200 {
		t.Fatalf("PUT: %d %s", code, env.Error)
	}
	if code, env := e.asLocal("PATCH", "/1.0", map[string]any{"config": map[string]string{"core.remote_token_expiry": "30m"}}); code != 200 {
		t.Fatalf("PATCH: %d %s", code, env.Error)
	}
	_, env := e.asLocal("GET", "/1.0", nil)
	var srv api.Server
	_ = json.Unmarshal(env.Metadata, &srv)
	if srv.Config["core.https_address"] != "127.0.0.1:8443" || srv.Config["core.remote_token_expiry"] != "30m" {
		t.Fatalf("config after PUT+PATCH: %v", srv.Config)
	}
	if srv.Environment.CertificateFingerprint == "" || len(srv.Environment.Addresses) != 1 {
		t.Errorf("environment lacks the certificate or addresses: %+v", srv.Environment)
	}
	// A config that cannot be applied is not stored.
	e.failApply = true
	if code, _ := e.asLocal("PUT", "/1.0", map[string]any{"config": map[string]string{"core.https_address": "127.0.0.1:9"}}); code == 200 {
		t.Fatal("PUT succeeded although applying failed")
	}
	if v, _ := e.db.GetConfig(context.Background(), "core.https_address"); v != "127.0.0.1:8443" {
		t.Fatalf("a config that failed to apply was stored: %q", v)
	}
}

func TestHTTPSTrust(t *testing.T) {
	e := newRemoteEnv(t)
	ctx := context.Background()
	stranger := e.newPeer()
	code, env := e.as(stranger, "GET", "/1.0", nil)
	var srv api.Server
	_ = json.Unmarshal(env.Metadata, &srv)
	if code != 200 || srv.Auth != "untrusted" || srv.Environment.Certificate != "" {
		t.Fatalf("untrusted GET /1.0: %d %+v", code, srv)
	}
	for _, r := range [][2]string{{"GET", "/1.0/certificates"}, {"PUT", "/1.0"}, {"GET", "/1.0/operations"}, {"DELETE", "/1.0/certificates/ab"}} {
		if code, _ := e.as(stranger, r[0], r[1], map[string]any{"config": map[string]string{"core.https_address": ":1"}}); code != http.StatusForbidden {
			t.Errorf("untrusted %s %s: %d, want 403", r[0], r[1], code)
		}
	}
	if len(e.applied) != 0 {
		t.Fatal("an untrusted PUT /1.0 reached the config")
	}
	// No token, a forged one, garbage: refused, nothing added.
	for _, body := range []map[string]any{{}, {"trust_token": strings.Repeat("0", 64)}, {"password": "garbage"}} {
		if code, _ := e.as(stranger, "POST", "/1.0/certificates", body); code != http.StatusForbidden {
			t.Errorf("untrusted POST certificates %v: %d, want 403", body, code)
		}
	}
	tok := e.token("lap")
	if code, env := e.as(stranger, "POST", "/1.0/certificates", map[string]any{"password": tok}); code != http.StatusCreated {
		t.Fatalf("join with token: %d %s", code, env.Error)
	}
	certs, _ := e.db.GetCertificates(ctx)
	if len(certs) != 1 || certs[0].Name != "lap" {
		t.Fatalf("trust store after join: %+v", certs)
	}
	if code, _ := e.as(stranger, "GET", "/1.0/certificates", nil); code != 200 {
		t.Fatalf("trusted GET certificates: %d", code)
	}
	// Single use; bound to its name; a second token for a trusted name is refused.
	if code, _ := e.as(e.newPeer(), "POST", "/1.0/certificates", map[string]any{"trust_token": tok}); code != http.StatusForbidden {
		t.Errorf("reused token: %d, want 403", code)
	}
	if code, _ := e.asLocal("POST", "/1.0/certificates", map[string]any{"name": "lap", "token": true}); code != http.StatusConflict {
		t.Errorf("token for a trusted name: %d, want 409", code)
	}
	// Expired tokens fail and add nothing.
	if code, _ := e.asLocal("PATCH", "/1.0", map[string]any{"config": map[string]string{"core.remote_token_expiry": "1ns"}}); code != 200 {
		t.Fatal("set expiry")
	}
	late := e.token("late")
	if code, env := e.as(e.newPeer(), "POST", "/1.0/certificates", map[string]any{"trust_token": late}); code != http.StatusForbidden || !strings.Contains(env.Error, "expired") && !strings.Contains(env.Error, "unknown") {
		t.Errorf("expired token: %d %q", code, env.Error)
	}
	if certs, _ := e.db.GetCertificates(ctx); len(certs) != 1 {
		t.Fatalf("refused joins added certificates: %+v", certs)
	}
	// Removal is refused at once, on the same keep-alive connection.
	if code, _ := e.asLocal("DELETE", "/1.0/certificates/"+certs[0].Fingerprint[:12], nil); code != 200 {
		t.Fatal("delete certificate")
	}
	if code, _ := e.as(stranger, "GET", "/1.0/certificates", nil); code != http.StatusForbidden {
		t.Fatalf("removed certificate still served: %d", code)
	}
}
