package lab

import (
	"maps"
	"strings"
	"testing"

	"lite/client/api"
)

// TestDiffNode: an instance made from the file has no difference; profile and config edits
// are live; nic and image edits need a recreate, and planNode says so.
func TestDiffNode(t *testing.T) {
	l := parse(t)
	n := *l.Node("a")
	made := func() api.InstanceFull {
		req := instanceRequest(l, n)
		var i api.InstanceFull
		i.Config, i.Devices, i.Profiles = maps.Clone(req.Config), map[string]map[string]string{}, req.Profiles
		for k, v := range req.Devices {
			i.Devices[k] = maps.Clone(v)
		}
		return i
	}
	plan := func(i api.InstanceFull, recreate bool) string {
		var out []string
		planNode(func(action, _, name, detail string) { out = append(out, action+" "+name+" "+detail) }, diffNode(l, i, nil, n), n, recreate)
		return strings.Join(out, "\n")
	}
	if got := plan(made(), false); got != "keep a " {
		t.Errorf("instance made from the file: %q", got)
	}
	i := made()
	i.Profiles = []string{"default", "extra"}
	i.Config["limits.memory"] = "2GiB"
	if got := plan(i, false); got != "update a config limits.memory=1GiB; profiles default,extra -> default" {
		t.Errorf("profiles and config edited: %q", got)
	}
	i = made()
	i.Devices["eth1"]["ipv4.address"] = "10.20.2.6"
	delete(i.Devices, "eth2")
	i.Devices["eth9"] = map[string]string{"type": "nic", "network": "t-front", "name": "eth9"}
	i.Devices["data"] = map[string]string{"type": "disk", "path": "/data", "source": "/srv"}
	i.Config[ImageKey] = "debian/11"
	want := "skip a nic eth1 back:10.20.2.6 -> back:10.20.2.5; nic eth9 removed; nic eth2 added (front:dhcp); image debian/11 -> debian/12: needs a recreate (lite lab up --recreate a)"
	if got := plan(i, false); got != want {
		t.Errorf("nics and image edited:\n got %q\nwant %q", got, want)
	}
	if got := plan(i, true); !strings.HasPrefix(got, "recreate a nic eth1 ") || strings.Contains(got, "skip") {
		t.Errorf("with --recreate: %q", got)
	}
	if got := plan(made(), true); got != "recreate a asked" {
		t.Errorf("--recreate of an unchanged node: %q", got)
	}
}
