package instance

import (
	"context"
	"fmt"
	"sort"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/revert"
	"lite/profiles"
)

// Profiles creates, changes, renames and deletes profiles; a change is checked against, and
// applied live to, every instance using the profile.
type Profiles struct{ *core }

// checkProfile fills a profile's nil maps and validates its own config and devices.
func (m *Profiles) checkProfile(ctx context.Context, p *db.Profile) error {
	if p.Config == nil {
		p.Config = map[string]string{}
	}
	if p.Devices == nil {
		p.Devices = map[string]map[string]string{}
	}
	if err := profiles.ValidateProfileName(p.Name); err != nil {
		return err
	}
	for k := range p.Config {
		if len(k) > 9 && k[:9] == "volatile." {
			return fmt.Errorf("profile %q: config key %q: volatile.* keys belong to instances: %w", p.Name, k, api.ErrInvalid)
		}
	}
	if err := profiles.ValidateInstanceConfig(p.Config, nil); err != nil {
		return fmt.Errorf("profile %q: %w", p.Name, err)
	}
	if err := m.checkRawLXC(p.Config); err != nil {
		return fmt.Errorf("profile %q: %w", p.Name, err)
	}
	if _, _, err := cgroupLimits(p.Config, m.cgroups); err != nil {
		return fmt.Errorf("profile %q: %w", p.Name, err)
	}
	if err := m.checkDevices(ctx, DeviceContext{Config: p.Config}, p.Devices); err != nil {
		return fmt.Errorf("profile %q: %w", p.Name, err)
	}
	return nil
}

// CreateProfile validates and stores a new profile.
func (m *Profiles) CreateProfile(ctx context.Context, p db.Profile) error {
	if err := m.checkProfile(ctx, &p); err != nil {
		return err
	}
	if err := m.db.CreateProfile(ctx, p); err != nil {
		return err
	}
	m.hub.Lifecycle("profile-created", "/1.0/profiles/"+p.Name, nil)
	return nil
}

// UpdateProfile replaces a profile and re-applies it to every instance using it: each one's
// new expansion is checked first, then applied live to the running ones, then stored. If any
// step fails, the live changes are undone and nothing is stored.
func (m *Profiles) UpdateProfile(ctx context.Context, p db.Profile) error {
	if err := m.checkProfile(ctx, &p); err != nil {
		return err
	}
	if _, err := m.db.GetProfile(ctx, p.Name); err != nil {
		return err
	}
	users, err := m.db.ProfileUsedBy(ctx, p.Name)
	if err != nil {
		return err
	}
	sort.Strings(users)
	for _, u := range users {
		// Each lock's context wraps the last: a forced stop of any user cancels the update.
		var unlock func()
		ctx, unlock = m.locks.lock(ctx, u)
		defer unlock()
	}
	type change struct {
		name string
		l    live
	}
	var changes []change
	for _, u := range users {
		inst, err := m.db.GetInstance(ctx, u)
		if err != nil {
			return err
		}
		oldCfg, oldDevs, err := m.expand(ctx, inst)
		if err != nil {
			return err
		}
		cfg, devs, err := m.expandWith(ctx, inst, p)
		if err != nil {
			return err
		}
		if err := m.checkExpanded(ctx, u, cfg, devs); err != nil {
			return err
		}
		changes = append(changes, change{u, live{oldCfg, cfg, oldDevs, devs}})
	}
	rev := revert.New()
	defer rev.Fail()
	for _, c := range changes {
		undo, err := m.applyLive(ctx, c.name, c.l)
		if err != nil {
			return err
		}
		rev.Add(undo)
	}
	if err := m.db.UpdateProfile(ctx, p); err != nil {
		return err
	}
	rev.Success()
	m.hub.Lifecycle("profile-updated", "/1.0/profiles/"+p.Name, nil)
	for _, u := range users {
		m.hub.Lifecycle("instance-updated", URL(u), nil)
	}
	return nil
}

// RenameProfile renames a profile; default keeps its name.
func (m *Profiles) RenameProfile(ctx context.Context, from, to string) error {
	if from == "default" {
		return fmt.Errorf("the default profile cannot be renamed: %w", api.ErrInvalid)
	}
	if err := profiles.ValidateProfileName(to); err != nil {
		return err
	}
	if err := m.db.RenameProfile(ctx, from, to); err != nil {
		return err
	}
	m.hub.Lifecycle("profile-renamed", "/1.0/profiles/"+to, map[string]any{"old_name": from})
	return nil
}

// DeleteProfile deletes a profile no instance uses; default stays.
func (m *Profiles) DeleteProfile(ctx context.Context, name string) error {
	if name == "default" {
		return fmt.Errorf("the default profile cannot be deleted: %w", api.ErrInvalid)
	}
	if err := m.db.DeleteProfile(ctx, name); err != nil {
		return err
	}
	m.hub.Lifecycle("profile-deleted", "/1.0/profiles/"+name, nil)
	return nil
}

// expandWith expands an instance with one profile replaced by p (for a profile change that
// is not stored yet).
func (m *Profiles) expandWith(ctx context.Context, inst db.Instance, p db.Profile) (map[string]string, map[string]map[string]string, error) {
	layers := make([]profiles.Layer, 0, len(inst.Profiles)+1)
	for _, name := range inst.Profiles {
		if name == p.Name {
			layers = append(layers, profiles.Layer{Config: p.Config, Devices: p.Devices})
			continue
		}
		q, err := m.db.GetProfile(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		layers = append(layers, profiles.Layer{Config: q.Config, Devices: q.Devices})
	}
	layers = append(layers, profiles.Layer{Config: inst.Config, Devices: inst.Devices})
	cfg, devs := profiles.Expand(layers...)
	return cfg, devs, nil
}

// Get returns one profile.
func (m *Profiles) Get(ctx context.Context, name string) (db.Profile, error) {
	return m.db.GetProfile(ctx, name)
}

// Names lists the profiles' names.
func (m *Profiles) Names(ctx context.Context) ([]string, error) {
	return m.db.ListProfileNames(ctx)
}

// UsedBy lists the instances that use a profile.
func (m *Profiles) UsedBy(ctx context.Context, name string) ([]string, error) {
	return m.db.ProfileUsedBy(ctx, name)
}
