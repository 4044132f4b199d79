package config

import (
	"errors"
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
