package device

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"lite/client/api"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/instance"
	"lite/profiles"
)

// Disk bind-mounts a host path into the container (disk devices other than the root disk).
type Disk struct {
	// StateDir is lited's LITE_DIR: no source may expose it, as it holds every container's
	// files, the database and the API socket.
	StateDir string
	// AllowShift is the server's opt-in (lited --allow-shifted-host-paths) for shift=true:
	// an idmapped mount shows host files owned by uid 0 as the container's root's, so
	// container root could read /etc/shadow or write root-owned host files through it.
	AllowShift bool
}

var (
	_ instance.DeviceHandler   = (*Disk)(nil)
	_ instance.DeviceValidator = (*Disk)(nil)
)

// Validate checks a disk device: an absolute path inside, and a source that exists and is
// neither the host's root nor lited's state.
func (d *Disk) Validate(_ context.Context, _ instance.DeviceContext, name string, dev map[string]string) error {
	_, err := d.source(dev)
	return err
}

// source checks dev and returns its resolved host source.
func (d *Disk) source(dev map[string]string) (string, error) {
	if dev["pool"] != "" {
		if dev["path"] == "/" {
			return "", nil // The root disk is the storage volume, handled by the pool.
		}
		return "", fmt.Errorf("disk devices from a storage pool (other than the root disk) are not supported yet: use source=HOST_PATH: %w", api.ErrInvalid)
	}
	path, src := dev["path"], dev["source"]
	if src == "" {
		return "", fmt.Errorf("a disk device needs source=HOST_PATH (and path=PATH_INSIDE): %w", api.ErrInvalid)
	}
	if err := profiles.IsAbsPath(path); err != nil || path == "/" {
		return "", fmt.Errorf("path %q must be an absolute path inside the container, not /: %w", path, api.ErrInvalid)
	}
	if profiles.IsTrue(dev["shift"]) && !d.AllowShift {
		return "", fmt.Errorf("shift=true on a host path lets the container's root act as host root on its files: "+
			"lited refuses it unless started with --allow-shifted-host-paths (LITE_ALLOW_SHIFTED_HOST_PATHS=true): %w", api.ErrInvalid)
	}
	if profiles.IsTrue(dev["shift"]) && !idmappedMounts() {
		return "", fmt.Errorf("shift=true needs idmapped mounts (Linux 5.12 or later), which this kernel lacks: %w", api.ErrInvalid)
	}
	if !filepath.IsAbs(src) {
		return "", fmt.Errorf("source %q must be an absolute host path: %w", src, api.ErrInvalid)
	}
	// Checks apply to the path the mount will use: "..", "." and symlinks resolved.
	real, err := filepath.EvalSymlinks(filepath.Clean(src))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("source %q does not exist: %w", src, api.ErrInvalid)
	} else if err != nil {
		return "", fmt.Errorf("source %q: %v: %w", src, err, api.ErrInvalid)
	}
	if real == "/" {
		return "", fmt.Errorf("source %q is the host's root directory, which a container may not see: %w", src, api.ErrInvalid)
	}
	if d.StateDir != "" {
		state, err := filepath.EvalSymlinks(d.StateDir)
		if err != nil {
			state = d.StateDir
		}
		if within(real, state) || within(state, real) {
			return "", fmt.Errorf("source %q would expose lited's own state (%s): %w", src, state, api.ErrInvalid)
		}
	}
	return real, nil
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}

// Start adds the bind mount to the run spec.
func (d *Disk) Start(_ context.Context, inst instance.DeviceContext, name string, dev map[string]string, spec *instance.RunSpec) (func(), error) {
	src, err := d.source(dev)
	if err != nil || src == "" {
		return nil, err
	}
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("source %q: %v: %w", dev["source"], err, api.ErrInvalid)
	}
	spec.Mounts = append(spec.Mounts, instance.Mount{
		Source: src, Path: dev["path"], ReadOnly: profiles.IsTrue(dev["readonly"]), Dir: st.IsDir(),
		Optional: dev["required"] != "" && !profiles.IsTrue(dev["required"]),
		Shift:    profiles.IsTrue(dev["shift"]) && inst.IDMap != nil,
	})
	return nil, nil
}

// Stop has nothing to release: the mount lives and dies with the container's mount namespace.
func (d *Disk) Stop(context.Context, instance.DeviceContext, string, map[string]string) error {
	return nil
}

// idmappedMounts reports whether the kernel has idmapped mounts (mount_setattr with
// MOUNT_ATTR_IDMAP, Linux 5.12), which lxc uses for shift=true ("idmap=container").
func idmappedMounts() bool {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return false
	}
	var major, minor int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 5 || major == 5 && minor >= 12
}

// Attach bind-mounts the source into the running container.
func (d *Disk) Attach(_ context.Context, inst instance.DeviceContext, pid int, _ string, dev map[string]string) error {
	src, err := d.source(dev)
	if err != nil || src == "" {
		return err
	}
	return hotMount(hotMountReq{
		Pid: pid, Source: src, Target: dev["path"], IDMap: (*idmap.Map)(inst.IDMap),
		ReadOnly: profiles.IsTrue(dev["readonly"]), Shift: profiles.IsTrue(dev["shift"]) && inst.IDMap != nil,
	})
}

// Detach unmounts the device's path inside the running container.
func (d *Disk) Detach(_ context.Context, _ instance.DeviceContext, pid int, _ string, dev map[string]string) error {
	if dev["path"] == "/" || dev["source"] == "" {
		return nil // the root disk is never hotplugged
	}
	return hotUnmount(pid, dev["path"])
}
