package lab

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"lite/client/api"
	labfile "lite/profiles/lab"
)

// ImageKey records on a node's instance the image it was made from, with the packages baked
// into it, so that an edit of either in the file shows as a change.
const ImageKey = LabKey + ".image"

// imageSpec is what ImageKey holds for a node: "debian/12", or "debian/12 +curl,python3".
func imageSpec(n labfile.Node) string {
	if len(n.Packages) == 0 {
		return n.Image
	}
	p := slices.Clone(n.Packages)
	sort.Strings(p)
	return n.Image + " +" + strings.Join(p, ",")
}

// profilesOf is the profile list a node's instance gets (none named: lite's default).
func profilesOf(n labfile.Node) []string {
	if n.Profiles == nil {
		return []string{"default"}
	}
	return n.Profiles
}

// nodeDiff is how an existing node's instance differs from its entry in the file: what up
// applies to it live, and what only a recreate can change (its nics and its image: the
// nodes' network files and @provisioned were made for the old ones).
type nodeDiff struct {
	live, recreate []string
}

// diffNode compares a node's instance with the file. prev is the node as last applied (nil:
// unknown); config keys it had and the file dropped are removed.
func diffNode(l *labfile.Lab, i api.InstanceFull, prev *labfile.Node, n labfile.Node) nodeDiff {
	var d nodeDiff
	if _, c := configChange(i.Config, prev, n); c != "" {
		d.live = append(d.live, "config "+c)
	}
	if want := profilesOf(n); !slices.Equal(want, i.Profiles) {
		d.live = append(d.live, fmt.Sprintf("profiles %s -> %s", strings.Join(i.Profiles, ","), strings.Join(want, ",")))
	}
	want := instanceRequest(l, n).Devices
	for _, name := range slices.Sorted(maps.Keys(i.Devices)) {
		dev := i.Devices[name]
		if dev["type"] != "nic" {
			continue
		}
		w, ok := want[name]
		switch {
		case !ok:
			d.recreate = append(d.recreate, "nic "+name+" removed")
		case !maps.Equal(w, dev):
			d.recreate = append(d.recreate, fmt.Sprintf("nic %s %s -> %s", name, nicText(l.Name, dev), nicText(l.Name, w)))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, ok := i.Devices[name]; !ok {
			d.recreate = append(d.recreate, fmt.Sprintf("nic %s added (%s)", name, nicText(l.Name, want[name])))
		}
	}
	if have := i.Config[ImageKey]; have != "" && have != imageSpec(n) {
		d.recreate = append(d.recreate, fmt.Sprintf("image %s -> %s", have, imageSpec(n)))
	}
	return d
}

// nicText describes a lab nic device as the file does: the lab's network and the address.
func nicText(lab string, dev map[string]string) string {
	a := dev["ipv4.address"]
	if a == "" {
		a = "dhcp"
	}
	return strings.TrimPrefix(dev["network"], NetworkName(lab, "")) + ":" + a
}

// planNode adds an existing, provisioned node of the lab to the plan: recreated when up
// was asked to (--recreate), updated where the difference applies live, and a skip naming
// what only a recreate applies.
func planNode(add func(action, kind, name, detail string), d nodeDiff, n labfile.Node, recreate bool) {
	switch {
	case recreate:
		why := strings.Join(d.recreate, "; ")
		if why == "" {
			why = "asked"
		}
		add("recreate", "node", n.Name, why)
		return
	case len(d.live) > 0:
		add("update", "node", n.Name, strings.Join(d.live, "; "))
	case len(d.recreate) == 0:
		add("keep", "node", n.Name, "")
	}
	if len(d.recreate) > 0 {
		add("skip", "node", n.Name, strings.Join(d.recreate, "; ")+": needs a recreate (lite lab up --recreate "+n.Name+")")
	}
}
