package lab

import (
	"errors"
	"reflect"
	"testing"

	"lite/client/api"
)

const clusterLab = `name: c
nodes:
  a: {}
  b: {target: m3}
  r1: {}
  r2: {target: m2}
  r3: {depends_on: [a]}
  d: {depends_on: [r3, b]}
links:
  - endpoints: [r1:eth1, r2:eth1]
  - endpoints: [r2:eth2, r3:eth1]
`

func TestPlace(t *testing.T) {
	l := parseSrc(t, clusterLab)
	online := []string{"m1", "m2", "m3"}
	for _, tc := range []struct {
		name     string
		existing map[string]string
		load     map[string]int
		want     map[string]string
		err      error
	}{
		{name: "spread by load, links together, targets kept",
			// a: least loaded (m1 local wins the tie); b: m3; r1-r2-r3: m2 (r2's target);
			// d: m1 and m3 have one each now, m1 is local.
			want: map[string]string{"a": "m1", "b": "m3", "r1": "m2", "r2": "m2", "r3": "m2", "d": "m1"}},
		{name: "load counts the members' instances",
			load: map[string]int{"m1": 5, "m3": 1},
			want: map[string]string{"a": "m2", "b": "m3", "r1": "m2", "r2": "m2", "r3": "m2", "d": "m3"}},
		{name: "a node that exists stays",
			existing: map[string]string{"a": "m3", "r1": "m2"},
			want:     map[string]string{"a": "m3", "b": "m3", "r1": "m2", "r2": "m2", "r3": "m2", "d": "m1"}},
		{name: "a link group already split", existing: map[string]string{"r1": "m1", "r3": "m2"}, err: api.ErrConflict},
		{name: "an existing node away from its target", existing: map[string]string{"b": "m1"}, err: api.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Place(l, tc.existing, online, tc.load, "m1")
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Place = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestPlaceRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		online    []string
		err       error
	}{
		{"target offline", "name: c\nnodes:\n  a: {target: m9}\n", []string{"m1"}, api.ErrInvalid},
		{"linked nodes with two targets", "name: c\nnodes:\n  a: {target: m1}\n  b: {target: m2}\nlinks:\n  - endpoints: [a:eth1, b:eth1]\n",
			[]string{"m1", "m2"}, api.ErrInvalid},
		{"no member online", "name: c\nnodes:\n  a: {}\n", nil, api.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Place(parseSrc(t, tc.src), nil, tc.online, nil, "m1"); !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
		})
	}
}

func TestWaves(t *testing.T) {
	l := parseSrc(t, clusterLab)
	if got, want := Waves(l, l.Nodes), [][]string{{"a", "b", "r1", "r2"}, {"r3"}, {"d"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Waves = %v, want %v", got, want)
	}
	// --only d: what it depends on is in the up; a dependency left out does not hold it back.
	nodes, err := SelectNodes(l, []string{"r3"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Waves(l, nodes), [][]string{{"a"}, {"r3"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Waves(--only r3) = %v, want %v", got, want)
	}
	if got, want := Waves(l, nodes[1:]), [][]string{{"r3"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Waves without a = %v, want %v", got, want)
	}
}

func TestTargetDefault(t *testing.T) {
	l := parseSrc(t, "name: c\ndefaults: {target: m2}\nnodes:\n  a: {}\n  b: {target: m3}\n")
	got, err := Place(l, nil, []string{"m1", "m2", "m3"}, nil, "m1")
	if want := map[string]string{"a": "m2", "b": "m3"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Place = %v, %v; want %v (defaults: target: m2)", got, err, want)
	}
}
