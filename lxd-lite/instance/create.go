package instance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"lite/client/api"
	"lite/db"
	"lite/images"
	"lite/lxd-lite/operations"
	"lite/lxd-lite/revert"
	"lite/lxd-lite/storage"
	"lite/profiles"
)

// Create makes a new stopped instance from an image and returns its name. It either makes the
// whole instance (files, templates, row) or nothing.
func (m *Manager) Create(ctx context.Context, req api.InstancesPost, progress func(key, msg string)) (string, error) {
	if progress == nil {
		progress = func(string, string) {}
	}
	if req.Source.Type == "copy" {
		return m.Copy(ctx, req, progress)
	}
	name := req.Name
	if name == "" {
		name = randomName()
	}
	if req.Type != "" && req.Type != "container" {
		return "", fmt.Errorf("instance type %q is not supported: lite runs containers only: %w", req.Type, api.ErrInvalid)
	}
	release, err := m.reserveName(ctx, name)
	if err != nil {
		return "", err
	}
	defer release()

	inst := db.Instance{
		Name: name, Type: "container", Architecture: images.HostArchitecture(), Description: req.Description,
		Ephemeral: req.Ephemeral, Config: map[string]string{}, Devices: map[string]map[string]string{},
		Profiles: req.Profiles,
	}
	if inst.Profiles == nil {
		inst.Profiles = []string{"default"}
	}
	for k, v := range req.Config {
		inst.Config[k] = v
	}
	for k, v := range req.Devices {
		inst.Devices[k] = v
	}
	if err := profiles.ValidateInstanceConfig(inst.Config, nil); err != nil {
		return "", err
	}
	if err := profiles.ValidateDevices(inst.Devices); err != nil {
		return "", err
	}
	cfg, devs, err := m.expand(ctx, inst)
	if err != nil {
		return "", err
	}
	if err := m.checkDevices(ctx, m.deviceContext(name, inst.Config, nil), inst.Devices); err != nil {
		return "", err
	}
	if err := m.checkExpanded(ctx, name, cfg, devs); err != nil {
		return "", err
	}

	src := req.Source
	switch src.Type {
	case "image", "":
	case "none":
		return "", fmt.Errorf("empty instances (source type none) are not supported: name an image: %w", api.ErrInvalid)
	default:
		return "", fmt.Errorf("instance source type %q is not supported: %w", src.Type, api.ErrInvalid)
	}
	if src.Alias == "" && src.Fingerprint == "" {
		return "", fmt.Errorf("no image given: name one, e.g. \"lite launch debian/12 %s\": %w", name, api.ErrInvalid)
	}
	key := "build_progress"
	if src.Server != "" {
		key = "download_progress" // a pull, as LXD names its progress
	}
	img, err := m.images.Resolve(ctx, src, func(msg string) { progress(key, msg) })
	if err != nil {
		return "", err
	}
	if err := images.CheckHostArchitecture(img.Architecture); err != nil {
		return "", fmt.Errorf("image %s: %v: %w", img.Fingerprint[:min(12, len(img.Fingerprint))], err, api.ErrInvalid)
	}
	if arch, err := images.NormalizeArchitecture(img.Architecture); err == nil {
		inst.Architecture = arch
	}
	im := m.idmapFor(cfg)
	for k, v := range img.Properties {
		inst.Config["image."+k] = v
	}
	inst.Config["volatile.base_image"] = img.Fingerprint
	inst.Config["volatile.uuid"] = operations.NewID()
	inst.Config["volatile.idmap.base"] = "0"
	if im != nil {
		inst.Config["volatile.idmap.base"] = strconv.FormatUint(uint64(im.UID), 10)
	}
	inst.Config["volatile.last_state.power"] = "STOPPED"

	layer, err := m.images.Layer(ctx, img.Fingerprint, im, func(msg string) {
		progress("create_instance_from_image_unpack_progress", msg)
	})
	if err != nil {
		return "", err
	}
	vol := m.pool.Volume(name, layer+"/rootfs")
	owner := storage.Owner{}
	if im != nil {
		owner = storage.Owner{UID: int(im.UID), GID: int(im.GID)}
	}
	rev := revert.New()
	defer rev.Fail()
	if err := m.pool.Create(ctx, vol, owner); err != nil {
		return "", err
	}
	rev.Add(func() {
		if err := m.pool.Delete(vol); err != nil {
			m.log.Error("revert: remove container files", "instance", name, "err", err)
		}
	})
	err = m.pool.Mount(vol, func(rootfs string) error {
		return m.images.Render(layer, rootfs, "create", inst, im)
	})
	if err != nil {
		return "", fmt.Errorf("render templates: %w", err)
	}
	now := time.Now()
	inst.CreatedAt, inst.LastUsedAt = now, time.Unix(0, 0)
	if err := m.createRow(ctx, inst); err != nil {
		return "", err
	}
	rev.Success()
	if err := m.db.TouchImage(ctx, img.Fingerprint, now); err != nil {
		m.log.Warn("record image use", "image", img.Fingerprint, "err", err)
	}
	m.hub.Lifecycle("instance-created", URL(name), nil)
	return name, nil
}

func randomName() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "lite-" + hex.EncodeToString(b[:])
}
