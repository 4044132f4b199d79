package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"lite/client/api"
	"lite/lxd-lite/storage"
)

// Recovery reconciles the host with the database when lited starts: what a crash cut short
// is finished or removed, and the devices lited serves itself come back.
type Recovery struct{ *core }

// Recover reconciles the host with the database after a start, which may follow a crash:
// container directories without a row (a create or delete cut short) are removed. Running
// containers need nothing: their state is always read live from liblxc.
func (m *Recovery) Recover(ctx context.Context) error {
	if err := m.recoverRenames(ctx); err != nil {
		return err
	}
	if err := m.recoverUnfinished(ctx); err != nil {
		return err
	}
	entries, err := os.ReadDir(m.pool.Dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", m.pool.Dir, err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		if _, err := m.db.GetInstance(ctx, name); err == nil {
			if local, err := m.isLocal(ctx, name); err != nil {
				return err
			} else if !local {
				m.log.Warn("container directory of an instance another cluster member holds; leaving it alone", "instance", name)
				continue
			}
			if err := m.recoverVolume(m.pool.Volume(name, "")); err != nil {
				return err
			}
			// A container lited cannot thaw must not keep lited (and every other one) down.
			if err := m.thawMarked(ctx, name); err != nil {
				m.log.Error("thaw an instance a previous lited froze", "instance", name, "err", err)
			}
			if err := m.recoverSnapshots(ctx, name); err != nil {
				return err
			}
			continue
		} else if !errors.Is(err, api.ErrNotFound) {
			return err
		}
		if m.locks.isCreating(name) {
			continue
		}
		if st, err := m.rt.State(ctx, name); err == nil && st.Running {
			m.log.Warn("container runs but has no database row; leaving it alone", "instance", name)
			continue
		}
		m.log.Info("removing leftovers of an unfinished create or delete", "instance", name)
		if err := m.pool.Delete(m.pool.Volume(name, "")); err != nil {
			return err
		}
	}
	return nil
}

// recoverVolume removes a host mount of the volume's root overlay that a crash between mount and
// detach left (a running container keeps its own copy), and gives its directory the modes that
// keep host users out (directories made by older versions were 0711).
func (m *Recovery) recoverVolume(vol storage.Volume) error {
	if err := m.pool.Unmount(vol); err != nil {
		return fmt.Errorf("recover %s: %w", vol.Path, err)
	}
	if err := m.pool.Secure(vol); err != nil {
		m.log.Warn("cannot secure container directory", "dir", vol.Path, "err", err)
	}
	return nil
}

// recoverRenames finishes renames a crash cut short: the directory moves to the name the
// row has, whichever of the two steps had been done.
func (m *Recovery) recoverRenames(ctx context.Context) error {
	journals, err := filepath.Glob(filepath.Join(m.pool.Dir, ".rename-*"))
	if err != nil {
		return err
	}
	for _, j := range journals {
		b, err := os.ReadFile(j)
		if err != nil {
			return fmt.Errorf("read rename journal: %w", err)
		}
		oldName, newName := strings.TrimPrefix(filepath.Base(j), ".rename-"), string(b)
		_, oldErr := os.Stat(filepath.Join(m.pool.Dir, oldName))
		if _, err := m.db.GetInstance(ctx, newName); err == nil && oldErr == nil {
			m.log.Info("finishing an interrupted rename", "from", oldName, "to", newName)
			if err := m.pool.Rename(m.pool.Volume(oldName, ""), newName); err != nil {
				return err
			}
		} else if _, err := m.db.GetInstance(ctx, oldName); err == nil && oldErr != nil {
			m.log.Info("undoing an interrupted rename", "from", oldName, "to", newName)
			if err := m.pool.Rename(m.pool.Volume(newName, ""), oldName); err != nil {
				return err
			}
		}
		if err := os.Remove(j); err != nil {
			return err
		}
	}
	return nil
}

// recoverUnfinished removes instance rows (and files) whose copy or import a crash cut short.
func (m *Recovery) recoverUnfinished(ctx context.Context) error {
	list, err := m.localInstances(ctx)
	if err != nil {
		return err
	}
	for _, inst := range list {
		if inst.Config[creatingKey] == "" || m.locks.isCreating(inst.Name) {
			continue
		}
		m.log.Info("removing an instance whose copy or import was cut short", "instance", inst.Name)
		if err := m.db.DeleteInstance(ctx, inst.Name); err != nil {
			return err
		}
		if err := m.pool.Delete(m.pool.Volume(inst.Name, "")); err != nil {
			return err
		}
	}
	return nil
}

// recoverSnapshots removes what a crash left in an instance's directory: unfinished copies and
// snapshot directories without a row.
func (m *Recovery) recoverSnapshots(ctx context.Context, name string) error {
	list, err := m.db.ListSnapshots(ctx, name)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, s := range list {
		keep[s.Name] = true
	}
	removed, err := m.pool.SweepSnapshots(m.pool.Volume(name, ""), keep)
	if err != nil {
		return err
	}
	for _, r := range removed {
		m.log.Info("removed leftovers of an unfinished snapshot or restore", "instance", name, "path", r)
	}
	return nil
}

// RestoreDevices attaches the live devices of every running instance; lited calls it once
// it has started, since their listeners died with the previous lited.
func (m *Recovery) RestoreDevices(ctx context.Context) error {
	list, err := m.localInstances(ctx)
	if err != nil {
		return err
	}
	for _, inst := range list {
		st, err := m.rt.State(ctx, inst.Name)
		if err != nil || !st.Running {
			continue
		}
		cfg, devs, err := m.expand(ctx, inst)
		if err != nil {
			return err
		}
		dc := m.deviceContext(inst.Name, cfg, m.idmapFor(cfg))
		for _, n := range sortedNames(devs) {
			if l, ok := m.devices[devs[n]["type"]].(LiveDevice); ok {
				if err := l.Serve(ctx, dc, n, devs[n]); err != nil {
					m.log.Error("re-establish device", "instance", inst.Name, "device", n, "err", err)
				}
			}
		}
	}
	return nil
}
