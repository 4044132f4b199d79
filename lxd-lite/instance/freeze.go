package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"lite/client/api"
)

// Freezer pauses a running container's processes (the cgroup freezer), so its files can be
// copied consistently while it runs. The lxc driver implements it.
type Freezer interface {
	Freeze(ctx context.Context, name string) error
	Unfreeze(ctx context.Context, name string) error
}

// frozen runs fn with the instance frozen when it runs (and not frozen already), so fn sees
// its files in a consistent state; a stopped instance needs nothing.
func (m *core) frozen(ctx context.Context, name string, fn func() error) error {
	st, err := m.rt.State(ctx, name)
	if err != nil {
		return err
	}
	if !st.Running || st.Frozen {
		return fn()
	}
	fz, ok := m.rt.(Freezer)
	if !ok {
		return fmt.Errorf("instance %q runs and this runtime cannot freeze it: stop it first: %w", name, api.ErrInvalid)
	}
	// Recorded on disk before the freeze: if lited dies while the container is frozen, the
	// next start thaws it (thawMarked) instead of leaving it frozen for good.
	if err := writeMarker(m.freezeMarker(name)); err != nil {
		return fmt.Errorf("instance %q: record the freeze: %w", name, err)
	}
	if err := fz.Freeze(ctx, name); err != nil {
		m.thaw(fz, name)
		return err
	}
	ferr := fn()
	if err := m.thaw(fz, name); err != nil && ferr == nil {
		ferr = err
	}
	return ferr
}

// freezeMarker is the file that says lited froze the instance.
func (m *core) freezeMarker(name string) string {
	return filepath.Join(m.Dir(name), "frozen-by-lited")
}

// thaw unfreezes an instance lited froze and removes the marker once it is thawed.
func (m *core) thaw(fz Freezer, name string) error {
	if err := fz.Unfreeze(context.Background(), name); err != nil {
		m.log.Error("thaw after copy", "instance", name, "err", err)
		return err
	}
	if err := os.Remove(m.freezeMarker(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		m.log.Warn("remove freeze marker", "instance", name, "err", err)
	}
	return nil
}

// thawMarked thaws, at start, an instance a previous lited froze and could not thaw (it
// was killed in between); a stopped or running one just loses the marker.
func (m *core) thawMarked(ctx context.Context, name string) error {
	if _, err := os.Stat(m.freezeMarker(name)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	st, err := m.rt.State(ctx, name)
	if err != nil {
		return err
	}
	fz, ok := m.rt.(Freezer)
	if st.Frozen && ok {
		m.log.Warn("thawing an instance a previous lited froze and left frozen", "instance", name)
		return m.thaw(fz, name)
	}
	if err := os.Remove(m.freezeMarker(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// writeMarker creates path and makes it durable (file and directory entry synced).
func writeMarker(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
