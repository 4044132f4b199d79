package instance

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"lite/client/api"
	"lite/db"
	"lite/images"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/storage"
)

// A backup is a tar of:
//
//	index.yaml                  the instance and its snapshots (config, devices, profiles)
//	instance.tar.gz             metadata.yaml, templates/ and rootfs/ (merged view), unified image format
//	snapshots/<name>.tar.gz     the same for each snapshot (not with --instance-only)
//
// Each rootfs is the merged view of the image layer and the writable layer, packed with
// container-relative ids (images.Pack unshifts them), so a backup restores where its image is
// absent. On import the instance gets a private layer instead of a store image: an empty lower
// dir with the backup's metadata.yaml and templates beside it, and the full rootfs as its
// writable layer (snapshots likewise). That costs the sharing with the image layer, but keeps
// restore and snapshot semantics exact without diffing against an image that may not exist;
// re-creating an image from a merged rootfs would instead make an image per backup.

// BackupIndex is index.yaml.
type BackupIndex struct {
	Name      string            `yaml:"name"`
	Instance  BackupConfig      `yaml:"instance"`
	Snapshots []BackupSnapshot  `yaml:"snapshots"`
	Created   time.Time         `yaml:"created_at"`
	Extra     map[string]string `yaml:"extra,omitempty"`
	// BaseImage, when set, makes every part a writable layer only (images.PackLayer) to be
	// laid on that image (by fingerprint), which the receiver must hold already.
	BaseImage string `yaml:"base_image,omitempty"`
}

// ExportOptions choose what Export writes.
type ExportOptions struct {
	InstanceOnly bool // no snapshots
	// Layers asks for the writable layers only, on the instance's image (index.yaml names
	// it), for a target that has the image; an instance with no image of its own, or a layer
	// a tar cannot carry (images.ErrNotPortable), gets the full backup instead.
	Layers bool
}

// BackupConfig is an instance's (or a snapshot's) config in a backup.
type BackupConfig struct {
	Architecture string                       `yaml:"architecture"`
	Description  string                       `yaml:"description"`
	Ephemeral    bool                         `yaml:"ephemeral"`
	Config       map[string]string            `yaml:"config"`
	Devices      map[string]map[string]string `yaml:"devices"`
	Profiles     []string                     `yaml:"profiles"`
}

// BackupSnapshot is one snapshot in a backup.
type BackupSnapshot struct {
	Name      string       `yaml:"name"`
	CreatedAt time.Time    `yaml:"created_at"`
	ExpiresAt time.Time    `yaml:"expires_at"`
	Config    BackupConfig `yaml:"config"`
}

// Export writes a backup of an instance to w; a running instance is frozen while its files
// are read.
func (m *Backups) Export(ctx context.Context, name string, opts ExportOptions, w io.Writer) error {
	instanceOnly := opts.InstanceOnly
	ctx, unlock := m.locks.lockCancellable(ctx, name)
	defer unlock()
	inst, err := m.db.GetInstance(ctx, name)
	if err != nil {
		return err
	}
	var snaps []db.Snapshot
	if !instanceOnly {
		if snaps, err = m.db.ListSnapshots(ctx, name); err != nil {
			return err
		}
	}
	cfg, _, err := m.expand(ctx, inst)
	if err != nil {
		return err
	}
	im := m.idmapFor(cfg)
	vol, err := m.volume(ctx, inst, im)
	if err != nil {
		return err
	}
	if m.pool.Driver != storage.Overlay {
		return fmt.Errorf("backups need the overlay storage driver: %w", api.ErrInvalid)
	}
	idx := BackupIndex{Name: name, Created: time.Now().UTC(), Instance: BackupConfig{
		Architecture: inst.Architecture, Description: inst.Description, Ephemeral: inst.Ephemeral,
		Config: inst.Config, Devices: inst.Devices, Profiles: inst.Profiles,
	}}
	for _, s := range snaps {
		idx.Snapshots = append(idx.Snapshots, BackupSnapshot{Name: s.Name, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt,
			Config: BackupConfig{Architecture: inst.Architecture, Description: s.Description, Ephemeral: s.Ephemeral,
				Config: s.Config, Devices: s.Devices, Profiles: s.Profiles}})
	}
	stage, err := os.MkdirTemp(vol.Path, ".tmp-export-")
	if err != nil {
		return fmt.Errorf("create export dir: %w", err)
	}
	defer os.RemoveAll(stage)
	unshift := idmap.Map{}
	if im != nil {
		unshift = idmap.Map{UID: im.UID, GID: im.GID, Size: im.Size}
	}
	uppers := []string{filepath.Join(vol.Path, "upper")}
	for _, s := range snaps {
		uppers = append(uppers, filepath.Join(m.pool.SnapshotPath(vol, s.Name), "upper"))
	}
	var parts []string
	if opts.Layers && !isDir(m.pool.PrivateLayer(name)) && inst.Config["volatile.base_image"] != "" {
		if parts, err = m.packLayers(ctx, name, stage, uppers, unshift); err != nil {
			return err
		}
		if parts != nil {
			idx.BaseImage = inst.Config["volatile.base_image"]
		}
	}
	if parts == nil {
		parts, err = m.packAll(ctx, name, uppers, func(upper string) (string, error) {
			return m.packPart(ctx, stage, []string{upper, vol.Lower}, unshift)
		})
		if err != nil {
			return err
		}
	}
	tw := tar.NewWriter(w)
	b, err := yaml.Marshal(idx)
	if err != nil {
		return err
	}
	if err := addTarFile(tw, "index.yaml", b); err != nil {
		return err
	}
	for i, tarball := range parts {
		entry := "instance.tar.gz"
		if i > 0 {
			entry = "snapshots/" + snaps[i-1].Name + ".tar.gz"
		}
		if err := addTarPath(tw, entry, tarball); err != nil {
			return err
		}
	}
	return tw.Close()
}

// packAll packs the instance's writable layer (the first; frozen while a running instance's
// files are packed, never while the client reads: a slow reader must not keep it frozen) and
// its snapshots' with pack, and returns the tarballs in the same order.
func (m *Backups) packAll(ctx context.Context, name string, uppers []string, pack func(upper string) (string, error)) ([]string, error) {
	parts := make([]string, len(uppers))
	err := m.frozen(ctx, name, func() (err error) {
		parts[0], err = pack(uppers[0])
		return err
	})
	for i := 1; err == nil && i < len(uppers); i++ {
		parts[i], err = pack(uppers[i])
	}
	return parts, err
}

// packLayers packs the writable layers alone, or returns nil when one has metadata a tar
// cannot carry (the caller sends the merged views instead).
func (m *Backups) packLayers(ctx context.Context, name, stage string, uppers []string, unshift idmap.Map) ([]string, error) {
	parts, err := m.packAll(ctx, name, uppers, func(upper string) (string, error) { return packLayer(ctx, stage, upper, unshift) })
	if errors.Is(err, images.ErrNotPortable) {
		m.log.Info("export: sending the full root filesystem", "instance", name, "reason", err)
		return nil, nil
	}
	return parts, err
}

// packLayer packs one writable layer alone into a tarball in stage.
func packLayer(ctx context.Context, stage, upper string, unshift idmap.Map) (string, error) {
	f, err := os.CreateTemp(stage, "layer-*.tar.gz")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := images.PackLayer(ctx, f, upper, unshift); err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

// packPart packs the merged view of layers, with the layer dir's metadata.yaml and templates,
// into a unified image tarball in stage and returns its path.
func (m *Backups) packPart(ctx context.Context, stage string, layers []string, unshift idmap.Map) (string, error) {
	dir, err := os.MkdirTemp(stage, "part-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	layerDir := filepath.Dir(layers[len(layers)-1])
	for _, f := range []string{"metadata.yaml", "templates"} {
		if _, err := os.Lstat(filepath.Join(layerDir, f)); err == nil {
			if err := copyPath(ctx, filepath.Join(layerDir, f), filepath.Join(dir, f)); err != nil {
				return "", err
			}
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		return "", err
	}
	tarball := filepath.Join(stage, filepath.Base(dir)+".tar.gz")
	f, err := os.Create(tarball)
	if err != nil {
		return "", err
	}
	defer f.Close()
	err = storage.MountMerged(layers, filepath.Join(dir, "rootfs"), func() error {
		return images.Pack(ctx, f, dir, unshift)
	})
	if err != nil {
		return "", fmt.Errorf("pack %s: %w", layers[0], err)
	}
	return tarball, f.Close()
}

// addTarPath adds the file at path to tw as entry.
func addTarPath(tw *tar.Writer, entry, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: entry, Mode: 0o600, Size: st.Size(), ModTime: time.Now(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

func addTarFile(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(b)), ModTime: time.Now(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}
