package client

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"lite/client/api"
	"lite/client/trust"
)

func TestConnectHTTPSPinsTheServer(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	srvCert, err := trust.KeyPair(filepath.Join(dir, "s.crt"), filepath.Join(dir, "s.key"), "srv")
	if err != nil {
		t.Fatal(err)
	}
	cliCert, err := trust.KeyPair(filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key"), "cli")
	if err != nil {
		t.Fatal(err)
	}
	var sawClient string
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) > 0 {
			sawClient = trust.Fingerprint(r.TLS.PeerCertificates[0].Raw)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"type":"sync","status":"Success","status_code":200,"metadata":{"auth":"trusted"}}`))
	}))
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientAuth: tls.RequestClientCert}
	ts.StartTLS()
	defer ts.Close()

	good := trust.Fingerprint(srvCert.Certificate[0])
	c, err := ConnectHTTPS(ts.URL, cliCert, good)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := c.GetServer(ctx)
	if err != nil || srv.Auth != "trusted" {
		t.Fatalf("GetServer: %+v %v", srv, err)
	}
	if sawClient != trust.Fingerprint(cliCert.Certificate[0]) {
		t.Fatal("the client certificate was not presented")
	}
	_, err = ConnectHTTPS(ts.URL, cliCert, strings.Repeat("a", 64))
	if !errors.Is(err, api.ErrForbidden) || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("wrong pin: %v, want a refusal", err)
	}
	for _, bad := range []string{"http://" + strings.TrimPrefix(ts.URL, "https://"), "https://"} {
		if _, err := ConnectHTTPS(bad, cliCert, good); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("ConnectHTTPS(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := ConnectHTTPS(ts.URL, cliCert, ""); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("no pin: %v, want ErrInvalid", err)
	}
}
