package config

import (
	"errors"
	"strings"
	"testing"

	"lite/client/api"
	"lite/client/trust"
)

func TestIsServerCall(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		server bool
	}{
		{nil, true},
		{[]string{"core.https_address"}, true},
		{[]string{"core.https_address=:8443"}, true},
		{[]string{"core.https_address", ":8443"}, true},
		{[]string{"host2:"}, true},
		{[]string{"host2:", "core.https_address"}, true},
		{[]string{"web1", "limits.memory"}, false},
		{[]string{"web1", "limits.memory=1GiB"}, false},
		{[]string{"web1"}, false},
	} {
		if got := isServerCall(tc.args); got != tc.server {
			t.Errorf("isServerCall(%q) = %v, want %v", tc.args, got, tc.server)
		}
	}
}

func TestTokenFromOp(t *testing.T) {
	fp := trust.Fingerprint([]byte("server"))
	md := map[string]any{"clientName": "lap", "fingerprint": fp, "secret": "s3cret", "expiresAt": "2030-01-01T00:00:00Z",
		"addresses": []any{"127.0.0.1:8443"}}
	tok, err := tokenFromOp(api.Operation{Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := trust.DecodeToken(tok)
	if err != nil || dec.ClientName != "lap" || dec.Fingerprint != fp || dec.Secret != "s3cret" || dec.Addresses[0] != "127.0.0.1:8443" {
		t.Fatalf("decoded %+v, %v", dec, err)
	}
	delete(md, "addresses")
	if _, err := tokenFromOp(api.Operation{Metadata: md}); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("token without addresses: %v", err)
	}
}

// TestTrustCommands: add prints the token of the server's operation, list shows the
// certificates, remove takes a name or a fingerprint prefix of 12 digits at least.
func TestTrustCommands(t *testing.T) {
	d := newDaemon(t)
	fp := trust.Fingerprint([]byte("laptop"))
	d.tokenMD = map[string]any{"clientName": "lap", "fingerprint": fp, "secret": "s3cret", "expiresAt": "2030-01-01T00:00:00Z",
		"addresses": []any{"127.0.0.1:8443"}}
	d.certs = []api.Certificate{{CertificatePut: api.CertificatePut{Name: "lap", Type: "client"}, Fingerprint: fp}, {CertificatePut: api.CertificatePut{Name: "desk", Type: "client"}, Fingerprint: "ab" + fp[2:]}}
	f, buf := factory(t, d, "", nil)
	cmd := NewCmdConfig(f)
	out, err := run(cmd, buf, "trust", "add", "lap")
	tokLine := strings.TrimPrefix(out, "Client lap certificate add token:\n")
	if tok, derr := trust.DecodeToken(strings.TrimSpace(tokLine)); err != nil || derr != nil || tok.Secret != "s3cret" {
		t.Errorf("trust add: %q %v %v", out, err, derr)
	}
	if out, err = run(cmd, buf, "trust", "list"); err != nil || !strings.Contains(out, "| lap  | client | "+fp[:12]+" |") {
		t.Errorf("trust list: %v\n%s", err, out)
	}
	if _, err = run(cmd, buf, "trust", "remove", fp[:11]); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("remove by an 11-digit prefix: %v, want ErrNotFound", err)
	}
	if _, err = run(cmd, buf, "trust", "remove", "ab"+fp[2:12]); err != nil {
		t.Fatal(err)
	}
	if _, err = run(cmd, buf, "trust", "rm", "lap"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(d.CallLog(), "DELETE /1.0/certificates/ab"+fp[2:]+"\nGET /1.0/certificates?recursion=1\nDELETE /1.0/certificates/"+fp) {
		t.Errorf("calls %q", d.CallLog())
	}
	d.tokenMD = map[string]any{"secret": "s"}
	if _, err = run(cmd, buf, "trust", "add", "lap"); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "core.https_address") {
		t.Errorf("token of a server without an HTTPS address: %v", err)
	}
}
