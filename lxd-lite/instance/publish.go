package instance

import (
	"context"
	"fmt"

	"lite/client/api"
	"lite/lxd-lite/idmap"
)

// WithStoppedRootfs runs fn with a stopped instance's root filesystem mounted (its image
// layer under its own changes), holding the instance's lock so it cannot start meanwhile.
// fn gets the image layer dir (metadata.yaml, templates/), the merged rootfs and the id map
// the files are shifted by (nil: privileged). Publishing uses it.
func (m *Files) WithStoppedRootfs(ctx context.Context, name string, fn func(layer, rootfs string, im *idmap.Map) error) error {
	ctx, unlock := m.locks.lockCancellable(ctx, name)
	defer unlock()
	inst, cfg, _, err := m.stopped(ctx, name, fmt.Errorf("instance %q is running: stop it before publishing it: %w", name, api.ErrInvalid))
	if err != nil {
		return err
	}
	im := m.idmapFor(cfg)
	layer, err := m.images.Layer(ctx, inst.Config["volatile.base_image"], im, nil)
	if err != nil {
		return fmt.Errorf("image layer of %q: %w", name, err)
	}
	vol, err := m.volume(ctx, inst, im)
	if err != nil {
		return err
	}
	return m.pool.Mount(vol, func(rootfs string) error { return fn(layer, rootfs, im) })
}
