package instance

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/events"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/storage"
	"lite/profiles"
)

// Images is what the lifecycle needs from the image service.
type Images interface {
	// Resolve finds (or builds) the image a create request names.
	Resolve(ctx context.Context, src api.InstanceSource, progress func(msg string)) (db.Image, error)
	// Layer returns the image's unpacked layer dir (metadata.yaml, templates/, rootfs/) shifted
	// for the map (nil: unshifted).
	Layer(ctx context.Context, fp string, m *idmap.Map, progress func(msg string)) (string, error)
	// Render runs the layer's templates for trigger into rootfs.
	Render(layerDir, rootfs, trigger string, inst db.Instance, m *idmap.Map) error
}

// core is what every job on instances shares: the database, the runtime, the storage pool
// and the image service; one lock per instance, held across all jobs; the expansion of an
// instance's profiles, its volume and id map; the device handlers and the event hub.
type core struct {
	db      *db.DB
	rt      Runtime
	pool    *storage.Pool
	images  Images
	hub     *events.Hub
	idmap   idmap.Map
	locks   *locks
	log     *slog.Logger
	devices map[string]DeviceHandler
	cgroups CgroupHost
	// allowRawLXCHooks lets raw.lxc set keys that reach the host or loosen confinement.
	allowRawLXCHooks bool
	node             func() string
}

// expand returns an instance's config and devices after its profiles.
func (m *core) expand(ctx context.Context, inst db.Instance) (map[string]string, map[string]map[string]string, error) {
	profs, err := m.db.GetProfiles(ctx, inst.Profiles)
	if err != nil {
		return nil, nil, err
	}
	cfg, devs := expandWith(inst, profs)
	return cfg, devs, nil
}

// expandWith is expand with the instance's profiles already read, in its order.
func expandWith(inst db.Instance, profs []db.Profile) (map[string]string, map[string]map[string]string) {
	layers := make([]profiles.Layer, 0, len(profs)+1)
	for _, p := range profs {
		layers = append(layers, profiles.Layer{Config: p.Config, Devices: p.Devices})
	}
	layers = append(layers, profiles.Layer{Config: inst.Config, Devices: inst.Devices})
	return profiles.Expand(layers...)
}

// idmapFor returns the map an instance runs with; nil when it is privileged.
func (m *core) idmapFor(cfg map[string]string) *idmap.Map {
	if profiles.IsTrue(cfg["security.privileged"]) {
		return nil
	}
	im := m.idmap
	return &im
}

// volume returns the instance's storage volume on top of its image layer.
func (m *core) volume(ctx context.Context, inst db.Instance, im *idmap.Map) (storage.Volume, error) {
	if private := m.pool.PrivateLayer(inst.Name); isDir(private) {
		return m.pool.Volume(inst.Name, filepath.Join(private, "rootfs")), nil // imported from a backup
	}
	fp := inst.Config["volatile.base_image"]
	layer, err := m.images.Layer(ctx, fp, im, nil)
	if err != nil {
		return storage.Volume{}, fmt.Errorf("image layer of %q: %w", inst.Name, err)
	}
	return m.pool.Volume(inst.Name, filepath.Join(layer, "rootfs")), nil
}

// Dir returns the directory holding an instance's files (lxc config and log included).
func (m *core) Dir(name string) string { return m.pool.Volume(name, "").Path }

func (m *core) deviceContext(name string, cfg map[string]string, im *idmap.Map) DeviceContext {
	return DeviceContext{Name: name, Config: cfg, IDMap: im, SetVolatile: func(kv map[string]string) error {
		return m.db.SetInstanceConfig(context.Background(), name, kv)
	}}
}

// stopped loads an instance that must not be running, with its expanded config and devices;
// running is the error when it runs. The caller holds the instance's lock.
func (m *core) stopped(ctx context.Context, name string, running error) (db.Instance, map[string]string, map[string]map[string]string, error) {
	inst, err := m.db.GetInstance(ctx, name)
	if err != nil {
		return db.Instance{}, nil, nil, err
	}
	st, err := m.rt.State(ctx, name)
	if err != nil {
		return db.Instance{}, nil, nil, err
	}
	if st.Running {
		return db.Instance{}, nil, nil, running
	}
	cfg, devs, err := m.expand(ctx, inst)
	if err != nil {
		return db.Instance{}, nil, nil, err
	}
	return inst, cfg, devs, nil
}

// renderTemplates mounts a volume and runs its templates (the instance's own copy once
// edited, else its image's) for trigger.
func (m *core) renderTemplates(ctx context.Context, vol storage.Volume, inst db.Instance, im *idmap.Map, trigger string) error {
	layer := m.templateLayer(inst.Name, filepath.Dir(vol.Lower))
	err := m.pool.Mount(vol, func(rootfs string) error {
		return m.images.Render(layer, rootfs, trigger, inst, im)
	})
	if err != nil {
		return fmt.Errorf("render templates (%s): %w", trigger, err)
	}
	return nil
}

// creatingKey marks an instance row whose snapshot rows are still being written (copy,
// import): a crash in between leaves a row the next start removes with its files, instead of
// an instance that lacks some of its snapshots.
const creatingKey = "volatile.lite.creating"

// createWithSnapshots writes an instance row and its snapshot rows; on error it removes them.
func (m *core) createWithSnapshots(ctx context.Context, inst db.Instance, snaps []db.Snapshot) error {
	inst.Config[creatingKey] = "true"
	defer delete(inst.Config, creatingKey)
	if err := m.createRow(ctx, inst); err != nil {
		return err
	}
	for _, s := range snaps {
		if err := m.db.CreateSnapshot(ctx, s); err != nil {
			if derr := m.db.DeleteInstance(context.Background(), inst.Name); derr != nil {
				m.log.Error("revert: remove instance row", "instance", inst.Name, "err", derr)
			}
			return err
		}
	}
	return m.db.SetInstanceConfig(ctx, inst.Name, map[string]string{creatingKey: ""})
}
