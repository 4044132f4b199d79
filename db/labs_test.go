package db

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"lite/client/api"
)

func TestLabsRoundTrip(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "lite.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	l := Lab{Name: "shop", Source: "name: shop\n", Filename: "lab.yaml",
		Files: map[string][]byte{"./a.conf": []byte("x=1\n")}, SSHKeys: []string{"ssh-ed25519 AAAA k"}}
	if err := d.PutLab(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := d.SetLabNode(ctx, "shop", LabNode{Name: "web1", Provisioned: true, Log: "ok"}); err != nil {
		t.Fatal(err)
	}
	l.Source = "name: shop\nnodes: {}\n"
	if err := d.PutLab(ctx, l); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetLab(ctx, "shop")
	if err != nil || got.Source != l.Source || string(got.Files["./a.conf"]) != "x=1\n" || len(got.SSHKeys) != 1 {
		t.Fatalf("GetLab = %+v, %v", got, err)
	}
	nodes, err := d.LabNodes(ctx, "shop")
	if err != nil || !nodes["web1"].Provisioned || nodes["web1"].Log != "ok" {
		t.Fatalf("a redefinition must keep node state: %+v, %v", nodes, err)
	}
	if err := d.SetLabNode(ctx, "nosuch", LabNode{Name: "x"}); err != nil {
		t.Fatalf("SetLabNode on a missing lab: %v", err)
	}
	if err := d.DeleteLab(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetLab(ctx, "shop"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if nodes, _ := d.LabNodes(ctx, "shop"); len(nodes) != 0 {
		t.Fatalf("node rows left after delete: %v", nodes)
	}
	if err := d.DeleteLab(ctx, "shop"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}
