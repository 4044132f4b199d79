package lab

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"lite/client/api"
	labfile "lite/profiles/lab"
)

// configChange returns the instance config a node's file config asks for, and a description
// of the difference ("" when none). Keys the previous file set and this one drops are removed;
// keys lite or the user set by hand are left alone.
func configChange(have map[string]string, prev *labfile.Node, n labfile.Node) (map[string]string, string) {
	want := map[string]string{}
	for k, v := range have {
		want[k] = v
	}
	var diff []string
	if prev != nil {
		for k := range prev.Config {
			if _, still := n.Config[k]; !still {
				if _, ok := want[k]; ok {
					delete(want, k)
					diff = append(diff, "-"+k)
				}
			}
		}
	}
	for k, v := range n.Config {
		if want[k] != v {
			want[k] = v
			diff = append(diff, k+"="+v)
		}
	}
	sort.Strings(diff)
	return want, strings.Join(diff, " ")
}

// previous returns the lab as last applied, or nil.
func (s *Service) previous(ctx context.Context, name string) *labfile.Lab {
	rec, err := s.DB.GetLab(ctx, name)
	if err != nil {
		return nil
	}
	l, err := labfile.Parse(rec.Filename, []byte(rec.Source), "")
	if err != nil {
		return nil
	}
	return l
}

// updater is what a live config change needs of the instance lifecycle.
type updater interface {
	Update(ctx context.Context, name string, put api.InstancePut) error
}

// updateNode applies a node's changed config and profiles to its instance, live where lite
// can (limits are, at once).
func (s *Service) updateNode(ctx context.Context, prev *labfile.Lab, n labfile.Node) error {
	up, ok := s.Instances.(updater)
	if !ok {
		return fmt.Errorf("node %s: this lited cannot update instances: %w", n.Name, api.ErrInvalid)
	}
	full, err := s.Instances.Get(ctx, n.Name)
	if err != nil {
		return err
	}
	var pn *labfile.Node
	if prev != nil {
		pn = prev.Node(n.Name)
	}
	want, _ := configChange(full.Config, pn, n)
	put := full.InstancePut
	put.Config = want
	put.Profiles = profilesOf(n)
	if err := up.Update(ctx, n.Name, put); err != nil {
		return fmt.Errorf("node %s: update config: %w", n.Name, err)
	}
	return nil
}
