package db

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"lite/client/api"
)

func TestCertificatesCRUD(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "lite.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c := api.Certificate{CertificatePut: api.CertificatePut{Name: "lap", Type: "client", Certificate: "PEM"}, Fingerprint: "ab"}
	if err := d.CreateCertificate(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateCertificate(ctx, c); !errors.Is(err, api.ErrAlreadyExists) {
		t.Fatalf("duplicate: %v", err)
	}
	got, err := d.GetCertificate(ctx, "ab")
	if err != nil || got.Name != "lap" || got.Projects == nil {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := d.GetCertificate(ctx, "cd"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	if err := d.DeleteCertificate(ctx, "ab"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteCertificate(ctx, "ab"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
}

func TestServerConfigKeepsOtherKeys(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "lite.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.SetConfig(ctx, "lite.internal", "x"); err != nil {
		t.Fatal(err)
	}
	keys := []string{"core.a", "core.b"}
	if err := d.ReplaceServerConfig(ctx, keys, map[string]string{"core.a": "1", "core.b": "2"}); err != nil {
		t.Fatal(err)
	}
	if err := d.ReplaceServerConfig(ctx, keys, map[string]string{"core.a": "3"}); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetServerConfig(ctx, keys)
	if err != nil || len(got) != 1 || got["core.a"] != "3" {
		t.Fatalf("server config = %v, %v", got, err)
	}
	if v, _ := d.GetConfig(ctx, "lite.internal"); v != "x" {
		t.Fatalf("an internal key was touched: %q", v)
	}
}
