package instance

import (
	"context"
	"fmt"

	"lite/client/api"
	"lite/db"
	"lite/images"
	"lite/profiles"
)

// checkRawLXC refuses raw.lxc keys that reach the host or loosen the container's confinement,
// unless lited runs with the opt-in. Socket access is root access in lite as in LXD, but a
// profile or lab file written by someone else must not run host commands unnoticed.
func (m *core) checkRawLXC(cfg map[string]string) error {
	if m.allowRawLXCHooks {
		return nil
	}
	if err := profiles.RawLXCHostAccess(cfg["raw.lxc"]); err != nil {
		return fmt.Errorf("%v: %w", err, api.ErrInvalid)
	}
	return nil
}

// checkRunnable refuses what this host cannot start: an architecture it cannot run, or a
// raw.lxc it does not allow. The architecture is the base image's when lited has it: rows
// written before lited recorded the image's architecture all say x86_64.
func (m *core) checkRunnable(ctx context.Context, inst db.Instance, cfg map[string]string) error {
	name, arch := inst.Name, inst.Architecture
	if img, err := m.db.GetImage(ctx, inst.Config["volatile.base_image"]); err == nil && img.Architecture != "" {
		arch = img.Architecture
	}
	if err := images.CheckHostArchitecture(arch); err != nil {
		return fmt.Errorf("instance %q: %v: %w", name, err, api.ErrInvalid)
	}
	if err := m.checkRawLXC(cfg); err != nil {
		return fmt.Errorf("instance %q: %w", name, err)
	}
	return nil
}

// reserveName claims name for a new instance (create, copy, import): it must be a valid
// instance name, no other create of it may be under way, and no instance may be called it
// (checkNameFree). release gives the name back once the row is written or the change failed.
func (m *core) reserveName(ctx context.Context, name string) (release func(), err error) {
	if err := profiles.ValidateInstanceName(name); err != nil {
		return nil, err
	}
	release, err = m.locks.reserve(name)
	if err != nil {
		return nil, err
	}
	if err := m.checkNameFree(ctx, name, ""); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// CheckNewName is what the API checks before it answers a create, copy, import or rename
// with an operation, so a taken or bad name fails the request itself: a valid instance name
// that no instance has (except, the instance being renamed, may change its name's case).
// The operation checks again under the reservation.
func (m *Manager) CheckNewName(ctx context.Context, name, except string) error {
	if err := profiles.ValidateInstanceName(name); err != nil {
		return err
	}
	return m.checkNameFree(ctx, name, except)
}

// checkNameFree fails with ErrAlreadyExists when an instance is called name, or a name that
// differs from it only in case (names are DNS names: web.lite must not find WEB). except is
// the instance being renamed, which may change the case of its own name.
func (m *core) checkNameFree(ctx context.Context, name, except string) error {
	other, err := m.db.InstanceNameClash(ctx, name, except)
	if err != nil {
		return err
	}
	switch {
	case other == "":
		return nil
	case other == name:
		return fmt.Errorf("instance %q already exists: %w", name, api.ErrAlreadyExists)
	}
	return fmt.Errorf("instance %q already exists as %q (instance names are unique without regard to case): %w", name, other, api.ErrAlreadyExists)
}
