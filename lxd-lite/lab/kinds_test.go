package lab

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"lite/client/api"
	"lite/db"
)

// listedNetworks and listedInstances are the lab's backends reduced to List, all Plan calls.
type listedNetworks struct {
	Networks
	list []api.Network
}

func (n listedNetworks) List(context.Context) ([]api.Network, error) { return n.list, nil }

type listedInstances struct {
	Instances
	list []api.InstanceFull
}

func (i listedInstances) List(context.Context) ([]api.InstanceFull, error) { return i.list, nil }

// A lab that would take over a network or instance of its name that is not its own is refused
// with ErrAlreadyExists (the name is taken); one whose subnet overlaps another network's is
// refused with ErrConflict. Both are 409s, which only the kind tells apart.
func TestPlanRefusalKinds(t *testing.T) {
	database, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "lite.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = database.Close() })
	foreign := map[string]string{}
	tests := []struct {
		name  string
		nets  []api.Network
		insts []api.InstanceFull
		want  error
	}{
		{"network of the lab's name", []api.Network{{Name: NetworkName("t", "front"), NetworkPut: api.NetworkPut{Config: foreign}}}, nil, api.ErrAlreadyExists},
		{"instance of a node's name", nil, []api.InstanceFull{{Instance: api.Instance{Name: "b", InstancePut: api.InstancePut{Config: foreign}}}}, api.ErrAlreadyExists},
		{"overlapping subnet", []api.Network{{Name: "other", NetworkPut: api.NetworkPut{Config: map[string]string{"ipv4.address": "10.20.1.7/16"}}}}, nil, api.ErrConflict},
	}
	for _, tt := range tests {
		s := &Service{DB: database, Networks: listedNetworks{list: tt.nets}, Instances: listedInstances{list: tt.insts}}
		_, err := s.Plan(context.Background(), parse(t), api.LabsPost{})
		other := api.ErrConflict
		if tt.want == api.ErrConflict {
			other = api.ErrAlreadyExists
		}
		if !errors.Is(err, tt.want) || errors.Is(err, other) || api.StatusFor(err) != 409 {
			t.Errorf("%s: Plan() = %v, want %v only", tt.name, err, tt.want)
		}
	}
}
