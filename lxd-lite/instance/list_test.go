package instance_test

import (
	"reflect"
	"testing"

	"lite/client/api"
	"lite/db"
)

// TestListRendersAsGet: List reads profiles and snapshots once for the whole list; what it
// renders for each instance is what Get renders for it alone (but the disk usage only Get
// measures): config and devices expanded through the instance's profiles in their order,
// snapshots with their own expansion.
func TestListRendersAsGet(t *testing.T) {
	e := newEnv(t)
	if err := e.db.CreateProfile(e.ctx, db.Profile{Name: "p1", Config: map[string]string{"limits.cpu": "1", "user.from": "p1"},
		Devices: map[string]map[string]string{"data": {"type": "disk", "source": "/srv", "path": "/srv"}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.CreateProfile(e.ctx, db.Profile{Name: "p2", Config: map[string]string{"user.from": "p2"}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"c1", "c2", "c3"} {
		e.create(name)
	}
	for name, profs := range map[string][]string{"c1": {"default", "p1"}, "c2": {"default", "p1", "p2"}} {
		inst := e.row(name)
		inst.Profiles = profs
		if err := e.db.UpdateInstance(e.ctx, inst); err != nil {
			t.Fatal(err)
		}
	}
	e.snapshot("c1", "s0")
	e.snapshot("c1", "s1")
	e.snapshot("c3", "s0")
	list, err := e.mgr.List(e.ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("List = %d instances, %v", len(list), err)
	}
	for _, got := range list {
		want, err := e.mgr.Get(e.ctx, got.Name)
		if err != nil {
			t.Fatal(err)
		}
		want.State.Disk = map[string]api.InstanceStateDisk{}
		for i := range want.Snapshots {
			want.Snapshots[i].Size = 0
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: List renders\n%+v\nGet renders\n%+v", got.Name, got, want)
		}
	}
	if c2 := list[1]; c2.ExpandedConfig["user.from"] != "p2" || c2.ExpandedDevices["data"]["path"] != "/srv" {
		t.Errorf("c2 expanded through default, p1, p2: %v %v", c2.ExpandedConfig, c2.ExpandedDevices)
	}
	if len(list[0].Snapshots) != 2 || len(list[1].Snapshots) != 0 || len(list[2].Snapshots) != 1 {
		t.Errorf("snapshots per instance: %d %d %d, want 2 0 1", len(list[0].Snapshots), len(list[1].Snapshots), len(list[2].Snapshots))
	}
}
