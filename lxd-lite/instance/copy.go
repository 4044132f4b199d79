package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/operations"
	"lite/lxd-lite/revert"
	"lite/lxd-lite/storage"
	"lite/profiles"
)

// keptVolatile are the volatile keys a copy inherits: they describe the image and the id
// shift of its files, which are copied as they are. Everything else volatile (MAC addresses,
// uuid, power state, host interface names) is the source's own.
func keptVolatile(k string) bool {
	return k == "volatile.base_image" || strings.HasPrefix(k, "volatile.idmap.")
}

// Copy makes a new stopped instance from another one or one of its snapshots (source type
// "copy", source "c1" or "c1/snap0") and returns its name. A running source is frozen while
// its files are copied, so the copy is consistent. The new instance gets a fresh uuid and MAC
// and its templates run with trigger "copy".
func (m *Manager) Copy(ctx context.Context, req api.InstancesPost, progress func(key, msg string)) (string, error) {
	srcName, snap, isSnap := strings.Cut(req.Source.Source, "/")
	if srcName == "" {
		return "", fmt.Errorf("copy: no source instance given: %w", api.ErrInvalid)
	}
	if isSnap {
		if err := profiles.ValidateSnapshotName(snap); err != nil {
			return "", fmt.Errorf("copy from %q: %w", req.Source.Source, err)
		}
	}
	name := req.Name
	if name == "" {
		name = randomName()
	}
	release, err := m.reserveName(ctx, name)
	if err != nil {
		return "", err
	}
	defer release()
	ctx, unlock := m.locks.lockCancellable(ctx, srcName)
	defer unlock()
	src, err := m.db.GetInstance(ctx, srcName)
	if err != nil {
		return "", err
	}
	inst, err := m.copyRow(ctx, src, snap, name, req)
	if err != nil {
		return "", err
	}
	var snaps []db.Snapshot
	if snap == "" && !req.Source.InstanceOnly {
		if snaps, err = m.db.ListSnapshots(ctx, srcName); err != nil {
			return "", err
		}
	}
	cfg, _, err := m.expand(ctx, inst)
	if err != nil {
		return "", err
	}
	im := m.idmapFor(cfg)
	owner := storage.Owner{}
	if im != nil {
		owner = storage.Owner{UID: int(im.UID), GID: int(im.GID)}
	}
	vol, err := m.volume(ctx, inst, im)
	if err != nil {
		return "", err
	}
	srcVol := m.pool.Volume(srcName, "")
	copyOpts := storage.CopyOptions{Snapshot: snap, Snapshots: len(snaps) > 0, Owner: owner}
	progress("create_instance_from_copy_progress", "copying files")
	copyFiles := func() error { return m.pool.CopyVolume(ctx, srcVol, vol, copyOpts) }
	if snap == "" {
		err = m.frozen(ctx, srcName, copyFiles)
	} else {
		err = copyFiles()
	}
	if err != nil {
		return "", err
	}
	rev := revert.New()
	defer rev.Fail()
	rev.Add(func() {
		if err := m.pool.Delete(vol); err != nil {
			m.log.Error("revert: remove copied files", "instance", name, "err", err)
		}
	})
	if err := m.renderTemplates(ctx, vol, inst, im, "copy"); err != nil {
		return "", err
	}
	for i := range snaps {
		snaps[i].Instance = name
	}
	if err := m.createWithSnapshots(ctx, inst, snaps); err != nil {
		return "", err
	}
	rev.Success()
	m.hub.Lifecycle("instance-created", URL(name), map[string]any{"source": req.Source.Source})
	return name, nil
}

// copyRow builds the new instance's row from the source (or its snapshot) and the request.
func (m *Manager) copyRow(ctx context.Context, src db.Instance, snap, name string, req api.InstancesPost) (db.Instance, error) {
	from := src
	if snap != "" {
		s, err := m.db.GetSnapshot(ctx, src.Name, snap)
		if err != nil {
			return db.Instance{}, err
		}
		from.Config, from.Devices, from.Profiles, from.Description = s.Config, s.Devices, s.Profiles, s.Description
	}
	// LXD's client sends the source's config back, volatile.base_image included (and all
	// volatile keys with --keep-volatile). Those describe the source: the copy takes the ones
	// it inherits from the source itself and makes the rest anew, so the client's are dropped.
	reqConfig := map[string]string{}
	for k, v := range req.Config {
		if !strings.HasPrefix(k, "volatile.") {
			reqConfig[k] = v
		}
	}
	if err := profiles.ValidateInstanceConfig(reqConfig, nil); err != nil {
		return db.Instance{}, err
	}
	if err := profiles.ValidateDevices(req.Devices); err != nil {
		return db.Instance{}, err
	}
	inst := db.Instance{
		Name: name, Type: src.Type, Architecture: src.Architecture, Description: from.Description,
		Ephemeral: req.Ephemeral, Config: map[string]string{}, Devices: map[string]map[string]string{},
		Profiles: from.Profiles,
	}
	if req.Profiles != nil {
		inst.Profiles = req.Profiles
	}
	for k, v := range from.Config {
		if !strings.HasPrefix(k, "volatile.") || keptVolatile(k) {
			inst.Config[k] = v
		}
	}
	for k, v := range reqConfig {
		inst.Config[k] = v
	}
	for k, v := range from.Devices {
		inst.Devices[k] = v
	}
	for k, v := range req.Devices {
		inst.Devices[k] = v
	}
	if inst.Config["security.privileged"] != from.Config["security.privileged"] {
		return db.Instance{}, fmt.Errorf("a copy cannot change security.privileged: lite cannot shift a container's files yet: %w", api.ErrInvalid)
	}
	inst.Config["volatile.uuid"] = operations.NewID()
	inst.Config["volatile.last_state.power"] = "STOPPED"
	now := time.Now()
	inst.CreatedAt, inst.LastUsedAt = now, time.Unix(0, 0)
	cfg, _, err := m.expand(ctx, inst)
	if err != nil {
		return db.Instance{}, err
	}
	if err := m.checkRunnable(ctx, inst, cfg); err != nil {
		return db.Instance{}, err
	}
	return inst, nil
}

// renameJournal is written before a rename moves anything, so a crash in the middle is
// finished at the next start instead of leaving a directory that recovery would delete.
func (m *Manager) renameJournal(name string) string {
	return filepath.Join(m.pool.Dir, ".rename-"+name)
}

// Rename renames a stopped instance: its row (snapshots follow), its directory (the lxc
// config is rewritten at every start) and, through templates with trigger "rename", files
// such as /etc/hostname.
func (m *Manager) Rename(ctx context.Context, name, newName string) error {
	if err := profiles.ValidateInstanceName(newName); err != nil {
		return err
	}
	release, err := m.locks.reserve(newName)
	if err != nil {
		return err
	}
	defer release()
	ctx, unlock := m.locks.lock(ctx, name)
	defer unlock()
	inst, err := m.db.GetInstance(ctx, name)
	if err != nil {
		return err
	}
	if err := m.checkNameFree(ctx, newName, name); err != nil {
		return err
	}
	if st, err := m.rt.State(ctx, name); err != nil {
		return err
	} else if st.Running {
		return fmt.Errorf("instance %q is running: stop it before renaming it: %w", name, api.ErrInvalid)
	}
	// The lxc config of the last start names the old directory (log, console log, rootfs),
	// and liblxc creates a log's directory whenever it loads a config: left in place, any
	// later state query would make containers/OLD again. Every start writes a new one.
	if err := os.Remove(filepath.Join(m.Dir(name), "config")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the lxc config of %q: %w", name, err)
	}
	journal := m.renameJournal(name)
	if err := os.WriteFile(journal, []byte(newName), 0o600); err != nil {
		return fmt.Errorf("write rename journal: %w", err)
	}
	defer os.Remove(journal)
	if err := m.pool.Rename(m.pool.Volume(name, ""), newName); err != nil {
		return err
	}
	if err := m.db.RenameInstance(ctx, name, newName); err != nil {
		if rerr := m.pool.Rename(m.pool.Volume(newName, ""), name); rerr != nil {
			m.log.Error("revert: rename container directory", "instance", name, "err", rerr)
		}
		return err
	}
	// The old name's DHCP lease and DNS name go; the next start registers the new name.
	if cfg, devs, err := m.expand(ctx, inst); err == nil {
		m.removeDevices(ctx, m.deviceContext(name, cfg, m.idmapFor(cfg)), devs)
	}
	inst.Name = newName
	cfg, _, err := m.expand(ctx, inst)
	if err == nil {
		im := m.idmapFor(cfg)
		var vol storage.Volume
		if vol, err = m.volume(ctx, inst, im); err == nil {
			err = m.renderTemplates(ctx, vol, inst, im, "rename")
		}
	}
	if err != nil {
		m.log.Warn("rename: templates not rendered", "instance", newName, "err", err)
	}
	m.hub.Lifecycle("instance-renamed", URL(newName), map[string]any{"old_name": name})
	return nil
}
