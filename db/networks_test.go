package db

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"lite/client/api"
)

func TestNetworksCRUD(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "lite.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	n := Network{Name: "br1", Type: "bridge", Config: map[string]string{"ipv4.address": "10.1.2.1/24"}}
	if err := d.CreateNetwork(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateNetwork(ctx, n); !errors.Is(err, api.ErrAlreadyExists) {
		t.Fatalf("duplicate create = %v", err)
	}
	got, err := d.GetNetwork(ctx, "br1")
	if err != nil || got.Config["ipv4.address"] != "10.1.2.1/24" || got.Status != "Created" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	got.Description = "lab"
	got.Config["dns.domain"] = "lab"
	if err := d.UpdateNetwork(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := d.RenameNetwork(ctx, "br1", "br2"); err != nil {
		t.Fatal(err)
	}
	list, err := d.ListNetworks(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "br2" || list[0].Description != "lab" || list[0].Config["dns.domain"] != "lab" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if err := d.DeleteNetwork(ctx, "br2"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetNetwork(ctx, "br2"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("get after delete = %v", err)
	}
	if err := d.DeleteNetwork(ctx, "br2"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("second delete = %v", err)
	}
	if v, err := d.GetConfig(ctx, "k"); err != nil || v != "" {
		t.Fatalf("unset config = %q, %v", v, err)
	}
	for _, v := range []string{"a", "b"} {
		if err := d.SetConfig(ctx, "k", v); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := d.GetConfig(ctx, "k"); err != nil || v != "b" {
		t.Fatalf("config = %q, %v", v, err)
	}
	if err := d.SetProfileDevice(ctx, "default", "eth0", map[string]string{"type": "nic", "network": "br1"}); err != nil {
		t.Fatal(err)
	}
	p, err := d.GetProfile(ctx, "default")
	if err != nil || p.Devices["eth0"]["network"] != "br1" || p.Devices["root"]["path"] != "/" {
		t.Fatalf("profile = %+v, %v", p, err)
	}
	if err := d.SetProfileDevice(ctx, "nope", "eth0", map[string]string{}); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("missing profile = %v", err)
	}
}

// TestNetworksUpdateOnOldShape applies the networks update to a database made before it, with
// an instance in it, and checks that the instance survives and networks work.
func TestNetworksUpdateOnOldShape(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lite.db")
	all := updates
	updates = all[:2] // the shape just before the networks update
	d, err := Open(ctx, path)
	updates = all
	if err != nil {
		t.Fatal(err)
	}
	insertOldInstance(t, d, "old1")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if v := schemaVersion(t, d); len(v) != 1 || v[0] != len(updates) {
		t.Fatalf("version = %v", v)
	}
	if _, err := d.GetInstance(ctx, "old1"); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateNetwork(ctx, Network{Name: "n1", Type: "bridge", Config: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
}
