package instance

import (
	"context"
	"fmt"

	"lite/client/api"
	"lite/lxd-lite/idmap"
)

// Files gives host access to an instance's root filesystem: the files API reads and writes
// through it, and publishing packs a stopped instance from it.
type Files struct{ *core }

// Rootfs calls fn with a host path that shows the instance's root filesystem as the container
// sees it, and the id map of its files. A running container's is its init's /proc/PID/root
// (its own mount namespace, mounts included); a stopped one's overlay is mounted on the host
// for the call, under the instance lock so it cannot start meanwhile. fn must resolve paths
// inside dir itself (the files package does).
func (m *Files) Rootfs(ctx context.Context, name string, fn func(dir string, im *idmap.Map) error) error {
	inst, err := m.db.GetInstance(ctx, name)
	if err != nil {
		return err
	}
	cfg, _, err := m.expand(ctx, inst)
	if err != nil {
		return err
	}
	im := m.idmapFor(cfg)
	st, err := m.rt.State(ctx, name)
	if err != nil {
		return err
	}
	if st.Running && st.Pid > 0 {
		return fn(fmt.Sprintf("/proc/%d/root", st.Pid), im)
	}
	ctx, unlock := m.locks.lock(ctx, name)
	defer unlock()
	if st, err := m.rt.State(ctx, name); err != nil {
		return err
	} else if st.Running {
		return fmt.Errorf("instance %q started meanwhile; retry: %w", name, api.ErrConflict)
	}
	vol, err := m.volume(ctx, inst, im)
	if err != nil {
		return err
	}
	return m.pool.Mount(vol, func(dir string) error { return fn(dir, im) })
}
