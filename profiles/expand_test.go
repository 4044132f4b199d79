package profiles

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"lite/client/api"
)

func TestExpandOrder(t *testing.T) {
	def := Layer{
		Config: map[string]string{"limits.memory": "1GiB", "user.from": "default"},
		Devices: map[string]map[string]string{
			"root": {"type": "disk", "path": "/", "pool": "default"},
			"data": {"type": "disk", "path": "/data", "source": "/srv/a", "readonly": "true"},
			"tmp":  {"type": "disk", "path": "/tmp", "source": "/srv/tmp"},
		},
	}
	big := Layer{
		Config: map[string]string{"limits.memory": "4GiB", "limits.cpu": "2"},
		Devices: map[string]map[string]string{
			// A later device of the same name replaces the earlier one whole: readonly from
			// the default profile must not leak into it.
			"data": {"type": "disk", "path": "/data", "source": "/srv/b"},
		},
	}
	own := Layer{
		Config: map[string]string{"limits.cpu": "1", "user.own": "yes"},
		Devices: map[string]map[string]string{
			"tmp": {"type": "none"},
		},
	}
	cfg, devs := Expand(def, big, own)
	wantCfg := map[string]string{"limits.memory": "4GiB", "limits.cpu": "1", "user.from": "default", "user.own": "yes"}
	if !reflect.DeepEqual(cfg, wantCfg) {
		t.Errorf("config = %v, want %v", cfg, wantCfg)
	}
	wantDevs := map[string]map[string]string{
		"root": {"type": "disk", "path": "/", "pool": "default"},
		"data": {"type": "disk", "path": "/data", "source": "/srv/b"},
	}
	if !reflect.DeepEqual(devs, wantDevs) {
		t.Errorf("devices = %v, want %v", devs, wantDevs)
	}

	// Order matters: the same layers the other way round give the other result.
	cfg, devs = Expand(own, big, def)
	if cfg["limits.cpu"] != "2" || cfg["limits.memory"] != "1GiB" {
		t.Errorf("reversed config = %v", cfg)
	}
	if devs["data"]["source"] != "/srv/a" || devs["data"]["readonly"] != "true" {
		t.Errorf("reversed data device = %v", devs["data"])
	}
	if _, ok := devs["tmp"]; !ok {
		t.Error("a none device removed a device added by a later layer")
	}
}

func TestExpandNoneWithoutEarlierDevice(t *testing.T) {
	_, devs := Expand(Layer{Devices: map[string]map[string]string{"eth0": {"type": "none"}}})
	if len(devs) != 0 {
		t.Errorf("devices = %v, want none (a none device is never in the result)", devs)
	}
}

func TestExpandEmpty(t *testing.T) {
	cfg, devs := Expand()
	if cfg == nil || devs == nil || len(cfg) != 0 || len(devs) != 0 {
		t.Errorf("Expand() = %#v, %#v; want empty non-nil maps", cfg, devs)
	}
	cfg, devs = Expand(Layer{}, Layer{})
	if cfg == nil || devs == nil {
		t.Errorf("Expand of nil layers = %#v, %#v; want empty non-nil maps", cfg, devs)
	}
}

func TestExpandDoesNotAlias(t *testing.T) {
	prof := Layer{
		Config:  map[string]string{"user.a": "1"},
		Devices: map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default"}},
	}
	cfg, devs := Expand(prof)
	cfg["user.a"] = "changed"
	devs["root"]["pool"] = "changed"
	if prof.Config["user.a"] != "1" || prof.Devices["root"]["pool"] != "default" {
		t.Errorf("changing the expansion changed the profile: %v %v", prof.Config, prof.Devices)
	}
}

func TestValidateDevices(t *testing.T) {
	tests := []struct {
		name string
		devs map[string]map[string]string
		want []string // substrings of the error; nil when valid
	}{
		{"nil", nil, nil},
		{"root disk", map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default"}}, nil},
		{"bind mount", map[string]map[string]string{"data": {"type": "disk", "path": "/data", "source": "/srv", "readonly": "true", "shift": "false"}}, nil},
		{"readonly empty", map[string]map[string]string{"data": {"type": "disk", "path": "/data", "source": "/srv", "readonly": ""}}, nil},
		{"none", map[string]map[string]string{"eth0": {"type": "none"}}, nil},
		{"missing type", map[string]map[string]string{"d1": {"path": "/x"}}, []string{`"d1"`, "type"}},
		{"unknown type", map[string]map[string]string{"d1": {"type": "gpu"}}, []string{`"d1"`, `"gpu"`}},
		{"unknown key", map[string]map[string]string{"d1": {"type": "disk", "path": "/", "size": "10GiB"}}, []string{`"d1"`, `"size"`, `"disk"`}},
		{"bad bool", map[string]map[string]string{"d1": {"type": "disk", "path": "/d", "source": "/s", "readonly": "perhaps"}}, []string{`"d1"`, `"readonly"`, "perhaps"}},
		{"unix-char", map[string]map[string]string{"fuse": {"type": "unix-char", "source": "/dev/fuse", "mode": "0666", "uid": "0"}}, nil},
		{"unix-block numbers", map[string]map[string]string{"sda": {"type": "unix-block", "path": "/dev/sdz", "major": "8", "minor": "0"}}, nil},
		{"unix-char bad mode", map[string]map[string]string{"d1": {"type": "unix-char", "source": "/dev/fuse", "mode": "rw"}}, []string{`"d1"`, `"mode"`}},
		{"unix-char relative", map[string]map[string]string{"d1": {"type": "unix-char", "source": "dev/fuse"}}, []string{`"d1"`, `"source"`}},
		{"key on none", map[string]map[string]string{"d1": {"type": "none", "path": "/"}}, []string{`"d1"`, `"path"`}},
	}
	for _, tt := range tests {
		err := ValidateDevices(tt.devs)
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tt.name, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %s", tt.name, err, w)
			}
		}
	}
}

func TestValidateInstanceName(t *testing.T) {
	long63 := "a" + strings.Repeat("b", 62)
	tests := []struct {
		name string
		ok   bool
	}{
		{"c1", true},
		{"a", true},
		{"web-1", true},
		{"Web1", true}, // LXD allows upper case
		{"a-b-c-9", true},
		{long63, true},
		{long63 + "c", false}, // 64
		{"", false},
		{"1abc", false},
		{"9", false},
		{"-abc", false},
		{"abc-", false},
		{"-", false},
		{"a_b", false},
		{"a.b", false},
		{"a b", false},
		{"a/b", false},
		{"café", false},
		{"日本", false},
		{"a\x00b", false},
		{"a\nb", false},
	}
	for _, tt := range tests {
		err := ValidateInstanceName(tt.name)
		if tt.ok {
			if err != nil {
				t.Errorf("ValidateInstanceName(%q) = %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, api.ErrInvalid) {
			t.Errorf("ValidateInstanceName(%q) = %v, want ErrInvalid", tt.name, err)
		}
	}
	err := ValidateInstanceName("a_b")
	if err == nil || !strings.Contains(err.Error(), `"a_b"`) {
		t.Errorf("error %v does not name the bad name", err)
	}
}
