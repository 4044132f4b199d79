package db

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"lite/client/api"
)

// An instance made before the cluster update lives on '' (the only host) afterwards.
func TestClusterUpdateOnOldShape(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lite.db")
	old := openAt(t, path, len(updates)-1)
	insertOldInstance(t, old, "web")
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	inst, err := d.GetInstance(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if inst.Node != "" {
		t.Errorf("node of an old instance = %q, want ''", inst.Node)
	}
	if n, err := d.CountInstancesOnNode(ctx, ""); err != nil || n != 1 {
		t.Errorf("instances on '' = %d, %v; want 1", n, err)
	}
}

func TestNodesAndPlacement(t *testing.T) {
	ctx := context.Background()
	d, _ := openTemp(t)
	now := time.Now().UTC().Truncate(time.Second)
	n1 := Node{Name: "h1", Address: "10.0.0.1:8443", DBAddress: "10.0.0.1:8444", Architecture: "x86_64", Heartbeat: now, CreatedAt: now}
	if err := d.CreateNode(ctx, n1); err != nil {
		t.Fatal(err)
	}
	dupName := n1
	dupName.Address = "10.0.0.9:8443"
	if err := d.CreateNode(ctx, dupName); !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("taken name: %v, want ErrAlreadyExists", err)
	}
	dupAddr := n1
	dupAddr.Name = "h9"
	if err := d.CreateNode(ctx, dupAddr); !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("taken address: %v, want ErrAlreadyExists", err)
	}
	later := now.Add(time.Minute)
	if err := d.SetNodeHeartbeat(ctx, "h1", later); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetNode(ctx, "h1")
	if err != nil || !got.Heartbeat.Equal(later) || got.DBAddress != n1.DBAddress {
		t.Errorf("GetNode = %+v, %v", got, err)
	}
	if err := d.SetNodeHeartbeat(ctx, "nosuch", later); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("heartbeat of a missing member: %v", err)
	}
	inst := testInstance("web")
	inst.Node = "h1"
	if _, err := d.CreateInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if n, err := d.CountInstancesOnNode(ctx, "h1"); err != nil || n != 1 {
		t.Errorf("instances on h1 = %d, %v", n, err)
	}
	if err := d.SetInstanceNode(ctx, "web", "h2"); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.GetInstance(ctx, "web"); got.Node != "h2" {
		t.Errorf("node after move = %q", got.Node)
	}
	if err := d.CreateImage(ctx, testImage(fpA)); err != nil {
		t.Fatal(err)
	}
	for range 2 { // recording twice is no error
		if err := d.AddImageNode(ctx, fpA, "h1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.AddImageNode(ctx, "nosuch", "h1"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("missing image: %v", err)
	}
	if got, err := d.ImageNodes(ctx, fpA); err != nil || len(got) != 1 || got[0] != "h1" {
		t.Errorf("ImageNodes = %v, %v", got, err)
	}
	if err := d.DeleteNode(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if got, err := d.ImageNodes(ctx, fpA); err != nil || len(got) != 0 {
		t.Errorf("ImageNodes after removal = %v, %v", got, err)
	}
	if err := d.DeleteNode(ctx, "h1"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("remove twice: %v", err)
	}
}
