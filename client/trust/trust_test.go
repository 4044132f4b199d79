package trust

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"lite/client/api"
)

func TestKeyPairMadeOnceAndPrivate(t *testing.T) {
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "s.crt"), filepath.Join(dir, "s.key")
	a, err := KeyPair(crt, key, "host")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode: %v %v", st, err)
	}
	b, err := KeyPair(crt, key, "host")
	if err != nil || Fingerprint(a.Certificate[0]) != Fingerprint(b.Certificate[0]) {
		t.Fatalf("second load made a new pair or failed: %v", err)
	}
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := KeyPair(crt, key, "host"); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("world-readable key accepted: %v", err)
	}
	fp, _, err := PEMFingerprint(EncodePEM(a.Certificate[0]))
	if err != nil || fp != Fingerprint(a.Certificate[0]) || len(fp) != 64 {
		t.Fatalf("PEMFingerprint = %q, %v", fp, err)
	}
	if _, _, err := PEMFingerprint("not pem"); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("garbage PEM: %v", err)
	}
}

func TestTokenRoundTripAndDecodeRefusals(t *testing.T) {
	in := api.CertificateAddToken{ClientName: "lap", Fingerprint: Fingerprint([]byte("x")), Addresses: []string{"127.0.0.1:8443"}, Secret: NewSecret()}
	s, err := EncodeToken(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeToken(s)
	if err != nil || out.Secret != in.Secret || out.ClientName != "lap" || out.Addresses[0] != in.Addresses[0] {
		t.Fatalf("round trip: %+v %v", out, err)
	}
	noSecret, _ := EncodeToken(api.CertificateAddToken{ClientName: "lap", Fingerprint: in.Fingerprint})
	for _, bad := range []string{"", "%%%", "aGVsbG8=", noSecret} {
		if _, err := DecodeToken(bad); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("DecodeToken(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestTokensSingleUseAndExpiry(t *testing.T) {
	ts := NewTokens()
	var ended []error
	done := func(err error) { ended = append(ended, err) }
	p := &Pending{Name: "lap", Secret: NewSecret(), Expires: time.Now().Add(time.Hour)}
	ts.Add(p, done)
	got, err := ts.Take(p.Secret)
	if err != nil || got.Name != "lap" {
		t.Fatalf("Take: %+v %v", got, err)
	}
	if _, err := ts.Take(p.Secret); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("second Take: %v", err)
	}
	old := &Pending{Name: "old", Secret: NewSecret(), Expires: time.Now().Add(-time.Second)}
	ts.Add(old, done)
	if _, err := ts.Take(old.Secret); !errors.Is(err, api.ErrForbidden) || len(ended) != 1 {
		t.Fatalf("expired Take: %v (ended %v)", err, ended)
	}
	dropped := &Pending{Name: "gone", Secret: NewSecret(), Expires: time.Now().Add(time.Hour)}
	ts.Add(dropped, done)
	ts.Drop(dropped.Secret)
	if _, err := ts.Take(dropped.Secret); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("revoked Take: %v", err)
	}
}
