package instancetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/instance"
)

// Images is a fake instance.Images: it resolves images from rows the test inserted in the
// database, hands out layers that are an empty rootfs/ under Dir, and renders no templates.
type Images struct {
	DB        *db.DB
	Dir       string // layers are made under Dir/<fingerprint>/
	mu        sync.Mutex
	renderErr error
	resolves  []api.InstanceSource
	renders   []RenderCall
}

// RenderCall records one Render.
type RenderCall struct {
	LayerDir, Rootfs, Trigger, Instance string
	IDMap                               *idmap.Map
}

var _ instance.Images = (*Images)(nil)

// Resolve looks the source up by fingerprint (or unique prefix) or by alias.
func (im *Images) Resolve(ctx context.Context, src api.InstanceSource, progress func(msg string)) (db.Image, error) {
	im.mu.Lock()
	im.resolves = append(im.resolves, src)
	im.mu.Unlock()
	if src.Fingerprint != "" {
		return im.DB.GetImage(ctx, src.Fingerprint)
	}
	a, err := im.DB.GetAlias(ctx, src.Alias)
	if err != nil {
		return db.Image{}, err
	}
	if progress != nil {
		progress("resolved " + src.Alias)
	}
	return im.DB.GetImage(ctx, a.Target)
}

// Layer returns Dir/<fp>, creating it with an empty rootfs/.
func (im *Images) Layer(ctx context.Context, fp string, m *idmap.Map, progress func(msg string)) (string, error) {
	if fp == "" {
		return "", fmt.Errorf("fake images: no fingerprint: %w", api.ErrInvalid)
	}
	dir := filepath.Join(im.Dir, fp)
	if err := os.MkdirAll(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// Render writes nothing; it records the call.
func (im *Images) Render(layerDir, rootfs, trigger string, inst db.Instance, m *idmap.Map) error {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.renders = append(im.renders, RenderCall{LayerDir: layerDir, Rootfs: rootfs, Trigger: trigger, Instance: inst.Name, IDMap: m})
	return im.renderErr
}

// SetRenderErr makes every later Render fail with err (nil: succeed).
func (im *Images) SetRenderErr(err error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.renderErr = err
}

// Resolves returns the sources Resolve was asked for, in order.
func (im *Images) Resolves() []api.InstanceSource {
	im.mu.Lock()
	defer im.mu.Unlock()
	return append([]api.InstanceSource(nil), im.resolves...)
}

// Renders returns the Render calls, in order.
func (im *Images) Renders() []RenderCall {
	im.mu.Lock()
	defer im.mu.Unlock()
	return append([]RenderCall(nil), im.renders...)
}
