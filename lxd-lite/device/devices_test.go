package device

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lite/client/api"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/instance"
)

func TestDiskValidate(t *testing.T) {
	state := t.TempDir()
	src := t.TempDir()
	file := filepath.Join(src, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(src, "to-state")
	if err := os.Symlink(state, link); err != nil {
		t.Fatal(err)
	}
	d := &Disk{StateDir: state}
	tests := []struct {
		dev  map[string]string
		want string // "" when valid
	}{
		{map[string]string{"type": "disk", "path": "/", "pool": "default"}, ""},
		{map[string]string{"type": "disk", "source": src, "path": "/data"}, ""},
		{map[string]string{"type": "disk", "source": file, "path": "/etc/f", "readonly": "true"}, ""},
		{map[string]string{"type": "disk", "path": "/data", "pool": "default"}, "not supported yet"},
		{map[string]string{"type": "disk", "path": "/data"}, "needs source"},
		{map[string]string{"type": "disk", "source": src}, "absolute path inside"},
		{map[string]string{"type": "disk", "source": src, "path": "/"}, "not /"},
		{map[string]string{"type": "disk", "source": src, "path": "data"}, "absolute path inside"},
		{map[string]string{"type": "disk", "source": "rel/dir", "path": "/data"}, "absolute host path"},
		{map[string]string{"type": "disk", "source": filepath.Join(src, "nope"), "path": "/data"}, "does not exist"},
		{map[string]string{"type": "disk", "source": "/", "path": "/host"}, "root directory"},
		{map[string]string{"type": "disk", "source": "/tmp/..", "path": "/host"}, "root directory"},
		{map[string]string{"type": "disk", "source": state, "path": "/x"}, "lited's own state"},
		{map[string]string{"type": "disk", "source": filepath.Join(state), "path": "/x"}, "lited's own state"},
		{map[string]string{"type": "disk", "source": link, "path": "/x"}, "lited's own state"},
		{map[string]string{"type": "disk", "source": filepath.Dir(state), "path": "/x"}, "lited's own state"},
		{map[string]string{"type": "disk", "source": src, "path": "/x", "shift": "true"}, "--allow-shifted-host-paths"},
		{map[string]string{"type": "disk", "source": "/etc", "path": "/x", "shift": "true"}, "--allow-shifted-host-paths"},
		// Non-canonical spellings of the state dir are resolved before they are checked.
		{map[string]string{"type": "disk", "source": state + "/../" + filepath.Base(state), "path": "/x"}, "lited's own state"},
		{map[string]string{"type": "disk", "source": state + "/./", "path": "/x"}, "lited's own state"},
		{map[string]string{"type": "disk", "source": state + "//sub/..", "path": "/x"}, "lited's own state"},
		{map[string]string{"type": "disk", "source": filepath.Join(src, "..", "..", strings.Repeat("../", 8)), "path": "/x"}, "root directory"},
	}
	if err := os.Mkdir(filepath.Join(state, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		err := d.Validate(context.Background(), instance.DeviceContext{}, "d", tt.dev)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%v: %v", tt.dev, err)
			}
			continue
		}
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want ErrInvalid mentioning %q", tt.dev, err, tt.want)
		}
	}
}

// With lited's opt-in, shift=true passes (this kernel has idmapped mounts), and the state
// dir stays refused.
func TestDiskShiftOptIn(t *testing.T) {
	state, src := t.TempDir(), t.TempDir()
	d := &Disk{StateDir: state, AllowShift: true}
	ctx := context.Background()
	if err := d.Validate(ctx, instance.DeviceContext{}, "d", map[string]string{"type": "disk", "source": src, "path": "/x", "shift": "true"}); err != nil {
		t.Errorf("shift with the opt-in: %v", err)
	}
	err := d.Validate(ctx, instance.DeviceContext{}, "d", map[string]string{"type": "disk", "source": state + "/.", "path": "/x", "shift": "true"})
	if !errors.Is(err, api.ErrInvalid) {
		t.Errorf("shift of the state dir with the opt-in: %v", err)
	}
	// A device stored before (or by a lited with the opt-in) is refused at start too.
	strict := &Disk{StateDir: state}
	var spec instance.RunSpec
	dev := map[string]string{"type": "disk", "source": src, "path": "/x", "shift": "true"}
	if _, err := strict.Start(ctx, instance.DeviceContext{}, "d", dev, &spec); !errors.Is(err, api.ErrInvalid) || len(spec.Mounts) != 0 {
		t.Errorf("start without the opt-in: %v, mounts %+v", err, spec.Mounts)
	}
}

func TestDiskStartAddsMount(t *testing.T) {
	src := t.TempDir()
	d := &Disk{StateDir: t.TempDir(), AllowShift: true}
	var spec instance.RunSpec
	if _, err := d.Start(context.Background(), instance.DeviceContext{}, "data", map[string]string{"type": "disk", "source": src, "path": "/data", "readonly": "yes"}, &spec); err != nil {
		t.Fatal(err)
	}
	want := instance.Mount{Source: src, Path: "/data", ReadOnly: true, Dir: true}
	if len(spec.Mounts) != 1 || spec.Mounts[0] != want {
		t.Errorf("mounts = %+v, want %+v", spec.Mounts, want)
	}
	// shift=true is an idmapped mount for an unprivileged container, nothing for a privileged one.
	spec = instance.RunSpec{}
	dev := map[string]string{"type": "disk", "source": src, "path": "/data", "shift": "true"}
	unpriv := instance.DeviceContext{IDMap: &idmap.Map{UID: 100000, GID: 100000, Size: 65536}}
	if _, err := d.Start(context.Background(), unpriv, "data", dev, &spec); err != nil || !spec.Mounts[0].Shift {
		t.Errorf("shift on an unprivileged container: %+v, %v", spec.Mounts, err)
	}
	spec = instance.RunSpec{}
	if _, err := d.Start(context.Background(), instance.DeviceContext{}, "data", dev, &spec); err != nil || spec.Mounts[0].Shift {
		t.Errorf("shift on a privileged container: %+v, %v", spec.Mounts, err)
	}
}

func TestUnixResolve(t *testing.T) {
	c := &Unix{StateDir: t.TempDir(), AllowKey: "lxc.cgroup.devices.allow"}
	b := &Unix{StateDir: t.TempDir(), Block: true}
	n, err := c.resolve(map[string]string{"source": "/dev/null"})
	if err != nil || n.major != 1 || n.minor != 3 || n.path != "/dev/null" || n.mode != 0o660 {
		t.Errorf("/dev/null = %+v, %v", n, err)
	}
	n, err = c.resolve(map[string]string{"path": "/dev/mine", "major": "10", "minor": "200", "uid": "5", "gid": "6", "mode": "0600"})
	if err != nil || n.major != 10 || n.minor != 200 || n.uid != 5 || n.gid != 6 || n.mode != 0o600 {
		t.Errorf("numbers = %+v, %v", n, err)
	}
	for _, tt := range []struct {
		h    *Unix
		dev  map[string]string
		want string
	}{
		{c, map[string]string{}, "needs source"},
		{c, map[string]string{"source": "/nonexistent-dev"}, "no such file"},
		{c, map[string]string{"source": "/etc/hostname"}, "not a unix-char"},
		{b, map[string]string{"source": "/dev/null"}, "not a unix-block"},
		{c, map[string]string{"path": "/dev/x", "major": "a", "minor": "1"}, "numeric major"},
		{c, map[string]string{"source": "/dev/null", "mode": "rw"}, "octal"},
		{c, map[string]string{"source": "/dev/null", "uid": "-1"}, "not a number"},
	} {
		if _, err := tt.h.resolve(tt.dev); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want ErrInvalid mentioning %q", tt.dev, err, tt.want)
		}
	}
}
