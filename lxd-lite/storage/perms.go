package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Secure sets the modes that keep host users out of a container's tree, as LXD does: an
// unprivileged container's directory is 0100 and owned by the container's root (the only
// non-root host uid that must traverse it, to reach its rootfs while liblxc sets the container
// up in its user namespace); a privileged container's is 0700, root's. Without this, any host
// user could walk into the writable layer and run a setuid file that container root planted
// there, as the container's root uid. The owner is read from the writable layer, which is
// owned by the container's root.
func (p *Pool) Secure(v Volume) error {
	st, err := os.Stat(filepath.Join(v.Path, p.Layer()))
	if err != nil {
		return fmt.Errorf("secure %s: %w", v.Path, err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("secure %s: no owner", v.Path)
	}
	// lited's own tree stays its own: a layer owned by lited's uid (root, for a privileged
	// container) gets 0700; 0100 would lock out a lited without root's DAC override (the
	// unit tests run unprivileged).
	mode := os.FileMode(0o100)
	if sys.Uid == 0 || int(sys.Uid) == os.Geteuid() {
		mode = 0o700
	}
	if err := os.Chown(v.Path, int(sys.Uid), int(sys.Gid)); err != nil {
		return fmt.Errorf("secure %s: %w", v.Path, err)
	}
	if err := os.Chmod(v.Path, mode); err != nil {
		return fmt.Errorf("secure %s: %w", v.Path, err)
	}
	return nil
}
