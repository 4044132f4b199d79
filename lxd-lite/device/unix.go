package device

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"lite/client/api"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/instance"
)

// Unix passes a host character (unix-char) or block (unix-block) device into the container:
// lited makes the node under StateDir/devices/INSTANCE, owned by the container's mapped
// uid/gid, bind-mounts it at the device's path and allows it in the devices cgroup.
type Unix struct {
	StateDir string
	Block    bool   // unix-block; else unix-char
	AllowKey string // "lxc.cgroup.devices.allow" (v1 devices controller) or "lxc.cgroup2.devices.allow"
}

var (
	_ instance.DeviceHandler   = (*Unix)(nil)
	_ instance.DeviceValidator = (*Unix)(nil)
)

// NewUnixHandlers returns the handlers of unix-char and unix-block devices, with the cgroup
// key the host's devices controller takes.
func NewUnixHandlers(stateDir string, cg instance.CgroupHost) (char, block *Unix) {
	key := "lxc.cgroup2.devices.allow"
	if cg.V1["devices"] {
		key = "lxc.cgroup.devices.allow"
	}
	return &Unix{StateDir: stateDir, AllowKey: key}, &Unix{StateDir: stateDir, Block: true, AllowKey: key}
}

func (u *Unix) kind() (string, uint32) {
	if u.Block {
		return "unix-block", unix.S_IFBLK
	}
	return "unix-char", unix.S_IFCHR
}

// node is a device's resolved numbers, path inside and owner.
type node struct {
	major, minor, uid, gid uint32
	mode                   uint32
	path                   string
}

// resolve checks dev and reads its numbers from source or from major/minor.
func (u *Unix) resolve(dev map[string]string) (node, error) {
	kind, ifmt := u.kind()
	n := node{path: dev["path"], mode: 0o660}
	if n.path == "" {
		n.path = dev["source"]
	}
	if n.path == "" {
		return n, fmt.Errorf("a %s device needs source=HOST_NODE or path=PATH with major= and minor=: %w", kind, api.ErrInvalid)
	}
	if src := dev["source"]; src != "" && (dev["major"] == "" || dev["minor"] == "") {
		var st unix.Stat_t
		if err := unix.Stat(src, &st); err != nil {
			return n, fmt.Errorf("source %q: %v: %w", src, err, api.ErrInvalid)
		}
		if st.Mode&unix.S_IFMT != ifmt {
			return n, fmt.Errorf("source %q is not a %s device: %w", src, kind, api.ErrInvalid)
		}
		n.major, n.minor = unix.Major(st.Rdev), unix.Minor(st.Rdev)
	} else {
		ma, err1 := strconv.ParseUint(dev["major"], 10, 32)
		mi, err2 := strconv.ParseUint(dev["minor"], 10, 32)
		if err1 != nil || err2 != nil {
			return n, fmt.Errorf("a %s device without source needs numeric major= and minor=: %w", kind, api.ErrInvalid)
		}
		n.major, n.minor = uint32(ma), uint32(mi)
	}
	for k, dst := range map[string]*uint32{"uid": &n.uid, "gid": &n.gid} {
		if v := dev[k]; v != "" {
			x, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return n, fmt.Errorf("%s %q is not a number: %w", k, v, api.ErrInvalid)
			}
			*dst = uint32(x)
		}
	}
	if v := dev["mode"]; v != "" {
		m, err := strconv.ParseUint(v, 8, 32)
		if err != nil || m > 0o7777 {
			return n, fmt.Errorf("mode %q is not an octal mode: %w", v, api.ErrInvalid)
		}
		n.mode = uint32(m)
	}
	return n, nil
}

// Validate checks the device's keys and its host source.
func (u *Unix) Validate(_ context.Context, _ instance.DeviceContext, _ string, dev map[string]string) error {
	_, err := u.resolve(dev)
	return err
}

func (u *Unix) hostPath(inst, name string) string {
	return filepath.Join(u.StateDir, "devices", inst, "unix."+name)
}

// Start makes the host node and adds it to the spec.
func (u *Unix) Start(_ context.Context, inst instance.DeviceContext, name string, dev map[string]string, spec *instance.RunSpec) (func(), error) {
	n, err := u.resolve(dev)
	if err != nil {
		return nil, err
	}
	uid, gid, err := hostOwner((*idmap.Map)(inst.IDMap), n.uid, n.gid)
	if err != nil {
		return nil, err
	}
	_, ifmt := u.kind()
	host := u.hostPath(inst.Name, name)
	if err := os.MkdirAll(filepath.Dir(host), 0o711); err != nil {
		return nil, err
	}
	if err := os.Remove(host); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := unix.Mknod(host, ifmt|n.mode, int(unix.Mkdev(n.major, n.minor))); err != nil {
		return nil, fmt.Errorf("make device node %s: %w", host, err)
	}
	if err := os.Chown(host, int(uid), int(gid)); err != nil {
		_ = os.Remove(host)
		return nil, err
	}
	if err := os.Chmod(host, os.FileMode(n.mode)); err != nil {
		_ = os.Remove(host)
		return nil, err
	}
	t := "c"
	if u.Block {
		t = "b"
	}
	spec.Nodes = append(spec.Nodes, instance.DeviceNode{Path: n.path, Type: t, Major: n.major, Minor: n.minor, Source: host, AllowKey: u.AllowKey})
	return func() { _ = os.Remove(host) }, nil
}

// Stop removes the host node (and the instance's node dir once empty).
func (u *Unix) Stop(_ context.Context, inst instance.DeviceContext, name string, _ map[string]string) error {
	host := u.hostPath(inst.Name, name)
	if err := os.Remove(host); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	_ = os.Remove(filepath.Dir(host)) // fails while other nodes remain, which is fine
	return nil
}

// hostOwner maps the node's owner (container ids) to the host's through the instance's id
// map (nil: privileged). An id outside the map is refused: added to the map's base it would
// belong to another container's range, or wrap around.
func hostOwner(im *idmap.Map, uid, gid uint32) (uint32, uint32, error) {
	m := idmap.Of(im)
	hu, err := m.ToHost(idmap.User, int64(uid))
	if err != nil {
		return 0, 0, fmt.Errorf("uid: %w: %w", err, api.ErrInvalid)
	}
	hg, err := m.ToHost(idmap.Group, int64(gid))
	if err != nil {
		return 0, 0, fmt.Errorf("gid: %w: %w", err, api.ErrInvalid)
	}
	return hu, hg, nil
}
