package db

import (
	"context"
	"errors"
	"maps"
	"testing"

	"lite/client/api"
)

func TestInstanceNodes(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	for _, n := range []string{"c1", "c2", "c3"} {
		if _, err := d.CreateInstance(ctx, testInstance(n)); err != nil {
			t.Fatal(err)
		}
	}
	if node, err := d.InstanceNode(ctx, "c1"); err != nil || node != "" {
		t.Errorf("new instance's node = %q, %v; want \"\" (the only host)", node, err)
	}
	if err := d.SetInstanceNode(ctx, "c1", "host2"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetInstanceNode(ctx, "c2", "host1"); err != nil {
		t.Fatal(err)
	}
	if node, err := d.InstanceNode(ctx, "c1"); err != nil || node != "host2" {
		t.Errorf("InstanceNode(c1) = %q, %v", node, err)
	}
	got, err := d.InstanceNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"c1": "host2", "c2": "host1", "c3": ""}; !maps.Equal(got, want) {
		t.Errorf("InstanceNodes() = %v, want %v", got, want)
	}
	if _, err := d.InstanceNode(ctx, "nope"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("InstanceNode(nope) err = %v, want ErrNotFound", err)
	}
	if err := d.SetInstanceNode(ctx, "nope", "host1"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("SetInstanceNode(nope) err = %v, want ErrNotFound", err)
	}
}
