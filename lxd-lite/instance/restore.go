package instance

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"lite/client/api"
	"lite/db"
	"lite/images"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/operations"
	"lite/lxd-lite/storage"
	"lite/profiles"
)

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func copyPath(ctx context.Context, src, dst string) error { return storage.CopyTree(ctx, src, dst) }

// maxIndex bounds index.yaml.
const maxIndex = 1 << 20

// readBackup checks the outer tar of a backup and saves its parts into dir under fixed names
// (index.yaml, instance.tar.gz, snap-<name>.tar.gz): entry names are never used as paths, and
// any entry but those a backup has is refused.
func readBackup(r io.Reader, dir string) (BackupIndex, map[string]string, error) {
	var idx BackupIndex
	parts := map[string]string{}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("bad backup: "+format+": %w", append(args, api.ErrInvalid)...)
	}
	tr := tar.NewReader(r)
	sawIndex := false
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return idx, nil, bad("%v", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return idx, nil, bad("entry %q is not a regular file", hdr.Name)
		}
		switch {
		case hdr.Name == "index.yaml":
			if hdr.Size > maxIndex {
				return idx, nil, bad("index.yaml is too large")
			}
			b, err := io.ReadAll(io.LimitReader(tr, maxIndex))
			if err != nil {
				return idx, nil, bad("read index.yaml: %v", err)
			}
			if err := images.DecodeYAML(b, &idx); err != nil {
				return idx, nil, bad("index.yaml: %v", err)
			}
			sawIndex = true
			continue
		case hdr.Name == "instance.tar.gz":
			parts[""] = filepath.Join(dir, "instance.tar.gz")
		case strings.HasPrefix(hdr.Name, "snapshots/") && strings.HasSuffix(hdr.Name, ".tar.gz"):
			snap := strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "snapshots/"), ".tar.gz")
			if err := profiles.ValidateSnapshotName(snap); err != nil {
				return idx, nil, bad("entry %q: %v", hdr.Name, err)
			}
			parts[snap] = filepath.Join(dir, "snap-"+snap+".tar.gz")
		default:
			return idx, nil, bad("unexpected entry %q", hdr.Name)
		}
		key := strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "snapshots/"), ".tar.gz")
		if hdr.Name == "instance.tar.gz" {
			key = ""
		}
		f, err := os.OpenFile(parts[key], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return idx, nil, bad("duplicate entry %q", hdr.Name)
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return idx, nil, fmt.Errorf("save %s: %w", hdr.Name, err)
		}
	}
	if !sawIndex || parts[""] == "" {
		return idx, nil, bad("index.yaml or instance.tar.gz is missing")
	}
	for _, s := range idx.Snapshots {
		if parts[s.Name] == "" {
			return idx, nil, bad("snapshot %q is in index.yaml but has no files", s.Name)
		}
	}
	if len(parts) != len(idx.Snapshots)+1 {
		return idx, nil, bad("snapshot files that index.yaml does not list")
	}
	return idx, parts, nil
}

// Import creates a stopped instance from a backup (read from r) under name (empty: the
// backup's) and returns its name. Everything is built under a temporary directory and moved
// into place in one rename, so a failure or crash leaves nothing the next start keeps.
func (m *Backups) Import(ctx context.Context, r io.Reader, name string) (string, error) {
	if m.pool.Driver != storage.Overlay {
		return "", fmt.Errorf("backups need the overlay storage driver: %w", api.ErrInvalid)
	}
	stage, err := os.MkdirTemp(m.pool.Dir, ".tmp-import-")
	if err != nil {
		return "", fmt.Errorf("create import dir: %w", err)
	}
	defer os.RemoveAll(stage)
	partsDir := filepath.Join(stage, "parts")
	if err := os.Mkdir(partsDir, 0o700); err != nil {
		return "", err
	}
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br) // a backup that was compressed as a whole
		if err != nil {
			return "", fmt.Errorf("bad backup: %v: %w", err, api.ErrInvalid)
		}
		defer zr.Close()
		r = zr
	} else {
		r = br
	}
	idx, parts, err := readBackup(r, partsDir)
	if err != nil {
		return "", err
	}
	if name == "" {
		name = idx.Name
	}
	release, err := m.reserveName(ctx, name)
	if err != nil {
		return "", err
	}
	defer release()
	inst := db.Instance{Name: name, Type: "container", Architecture: idx.Instance.Architecture, Description: idx.Instance.Description,
		Ephemeral: idx.Instance.Ephemeral, Config: importConfig(idx.Instance.Config), Devices: orEmpty(idx.Instance.Devices),
		Profiles: idx.Instance.Profiles}
	if inst.Profiles == nil {
		inst.Profiles = []string{}
	}
	cfg, err := m.checkImported(ctx, inst, idx)
	if err != nil {
		return "", err
	}
	im := m.idmapFor(cfg)
	shift, owner := idmap.Map{}, storage.Owner{}
	inst.Config["volatile.idmap.base"] = "0"
	if im != nil {
		shift, owner = idmap.Map{UID: im.UID, GID: im.GID, Size: im.Size}, storage.Owner{UID: int(im.UID), GID: int(im.GID)}
		inst.Config["volatile.idmap.base"] = fmt.Sprint(im.UID)
	}
	if err := m.checkBaseImage(ctx, idx, inst, im); err != nil {
		return "", err
	}
	c := filepath.Join(stage, "c")
	if err := m.unpackParts(ctx, stage, c, idx, parts, shift, owner); err != nil {
		return "", err
	}
	if err := m.pool.AdoptImport(c, name, owner, idx.BaseImage == ""); err != nil {
		return "", err
	}
	if name != idx.Name {
		// A new name: the image's "copy" templates (hostname, hosts) follow it.
		vol, err := m.volume(ctx, inst, im)
		if err == nil {
			err = m.renderTemplates(ctx, vol, inst, im, "copy")
		}
		if err != nil {
			if derr := m.pool.Delete(m.pool.Volume(name, "")); derr != nil {
				m.log.Error("revert: remove imported files", "instance", name, "err", derr)
			}
			return "", err
		}
	}
	if err := m.createImportedRows(ctx, inst, idx); err != nil {
		if derr := m.pool.Delete(m.pool.Volume(name, "")); derr != nil {
			m.log.Error("revert: remove imported files", "instance", name, "err", derr)
		}
		return "", err
	}
	m.hub.Lifecycle("instance-created", URL(name), map[string]any{"source": "backup"})
	return name, nil
}

// checkBaseImage refuses a backup of writable layers only (BackupIndex.BaseImage) unless
// this server holds its image, the one the instance's config names.
func (m *Backups) checkBaseImage(ctx context.Context, idx BackupIndex, inst db.Instance, im *idmap.Map) error {
	fp := idx.BaseImage
	if fp == "" {
		return nil
	}
	if !fingerprintRe.MatchString(fp) || inst.Config["volatile.base_image"] != fp {
		return fmt.Errorf("bad backup: base_image %q is not the instance's image fingerprint: %w", fp, api.ErrInvalid)
	}
	if _, err := m.images.Layer(ctx, fp, im, nil); err != nil {
		return fmt.Errorf("bad backup: it holds only writable layers on image %s, which this server cannot use (%v): copy the image here first (lite image copy): %w", fp, err, api.ErrInvalid)
	}
	return nil
}

// unpackParts unpacks the instance's part and its snapshots' into c/upper (with c/layer for
// a full backup) and c/snapshots/NAME/upper; the writable layers of a thin backup get their
// whiteouts back.
func (m *Backups) unpackParts(ctx context.Context, stage, c string, idx BackupIndex, parts map[string]string, shift idmap.Map, owner storage.Owner) error {
	layer := filepath.Join(c, "layer")
	if idx.BaseImage != "" {
		layer = ""
	}
	upper := filepath.Join(c, "upper")
	if err := unpackPart(ctx, parts[""], filepath.Join(stage, "u"), upper, layer, shift); err != nil {
		return err
	}
	uppers := []string{upper}
	for _, s := range idx.Snapshots {
		dst := filepath.Join(c, "snapshots", s.Name)
		if err := os.MkdirAll(dst, 0o700); err != nil {
			return err
		}
		uppers = append(uppers, filepath.Join(dst, "upper"))
		if err := unpackPart(ctx, parts[s.Name], filepath.Join(stage, "s-"+s.Name), uppers[len(uppers)-1], "", shift); err != nil {
			return err
		}
	}
	if idx.BaseImage == "" {
		return nil
	}
	for _, u := range uppers {
		if err := storage.RestoreWhiteouts(u, owner); err != nil {
			return err
		}
	}
	return nil
}

// fingerprintRe is an image fingerprint (sha256, hex).
var fingerprintRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkImported validates a backup's instance exactly as API input is validated, and the
// static config and devices of each of its snapshots (a restore makes one the instance), and
// returns the instance's expanded config.
func (m *Backups) checkImported(ctx context.Context, inst db.Instance, idx BackupIndex) (map[string]string, error) {
	if err := images.CheckHostArchitecture(inst.Architecture); err != nil {
		return nil, fmt.Errorf("bad backup: %v: %w", err, api.ErrInvalid)
	}
	if fp := inst.Config["volatile.base_image"]; fp != "" && !fingerprintRe.MatchString(fp) {
		return nil, fmt.Errorf("bad backup: volatile.base_image %q is not an image fingerprint: %w", fp, api.ErrInvalid)
	}
	rows := []db.Instance{inst}
	for _, s := range idx.Snapshots {
		if err := profiles.ValidateSnapshotName(s.Name); err != nil {
			return nil, fmt.Errorf("bad backup: %w", err)
		}
		snap := inst
		snap.Config, snap.Devices, snap.Profiles = importConfig(s.Config.Config), orEmpty(s.Config.Devices), s.Config.Profiles
		if snap.Profiles == nil {
			snap.Profiles = []string{}
		}
		rows = append(rows, snap)
	}
	var cfg map[string]string
	for i, r := range rows {
		what := "instance"
		if i > 0 {
			what = fmt.Sprintf("snapshot %q", idx.Snapshots[i-1].Name)
		}
		if err := profiles.ValidateInstanceConfig(r.Config, r.Config); err != nil {
			return nil, fmt.Errorf("bad backup: %s: %w", what, err)
		}
		if err := profiles.ValidateDevices(r.Devices); err != nil {
			return nil, fmt.Errorf("bad backup: %s: %w", what, err)
		}
		c, devs, err := m.expand(ctx, r)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			// A snapshot's host paths are checked when it is restored and started.
			if err := m.checkRawLXC(c); err != nil {
				return nil, fmt.Errorf("bad backup: %s: %w", what, err)
			}
			continue
		}
		if err := m.checkDevices(ctx, m.deviceContext(r.Name, r.Config, nil), r.Devices); err != nil {
			return nil, fmt.Errorf("bad backup: %s: %w", what, err)
		}
		if err := m.checkExpanded(ctx, r.Name, c, devs); err != nil {
			return nil, fmt.Errorf("bad backup: %s: %w", what, err)
		}
		cfg = c
	}
	return cfg, nil
}

// unpackPart unpacks one unified tarball (hostile entries are refused by images.Unpack) and
// moves its rootfs to rootfs and, when layer is set, its metadata.yaml and templates there.
func unpackPart(ctx context.Context, tarball, tmp, rootfs, layer string, shift idmap.Map) error {
	if err := images.Unpack(ctx, tarball, tmp, shift); err != nil {
		return fmt.Errorf("backup: %w", wrapInvalid(err))
	}
	if err := os.MkdirAll(filepath.Dir(rootfs), 0o711); err != nil {
		return err
	}
	if !isDir(filepath.Join(tmp, "rootfs")) {
		return fmt.Errorf("bad backup: a part has no rootfs: %w", api.ErrInvalid)
	}
	if err := os.Rename(filepath.Join(tmp, "rootfs"), rootfs); err != nil {
		return err
	}
	if layer == "" {
		return os.RemoveAll(tmp)
	}
	return os.Rename(tmp, layer)
}

func wrapInvalid(err error) error {
	if errors.Is(err, images.ErrInvalid) {
		return fmt.Errorf("%v: %w", err, api.ErrInvalid)
	}
	return err
}

// importConfig keeps a backup's config except the volatile keys that belong to the old
// instance; the uuid is new.
func importConfig(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if !strings.HasPrefix(k, "volatile.") || k == "volatile.base_image" {
			out[k] = v
		}
	}
	out["volatile.uuid"] = operations.NewID()
	out["volatile.last_state.power"] = "STOPPED"
	return out
}

func orEmpty(m map[string]map[string]string) map[string]map[string]string {
	if m == nil {
		return map[string]map[string]string{}
	}
	return m
}

func (m *Backups) createImportedRows(ctx context.Context, inst db.Instance, idx BackupIndex) error {
	snaps := make([]db.Snapshot, 0, len(idx.Snapshots))
	for _, s := range idx.Snapshots {
		row := db.Snapshot{Instance: inst.Name, Name: s.Name, Description: s.Config.Description, Ephemeral: s.Config.Ephemeral,
			Config: importConfig(s.Config.Config), Devices: orEmpty(s.Config.Devices), Profiles: s.Config.Profiles, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
		if row.Profiles == nil {
			row.Profiles = []string{}
		}
		snaps = append(snaps, row)
	}
	return m.createWithSnapshots(ctx, inst, snaps)
}
