package profiles

import (
	"errors"
	"strings"
	"testing"

	"lite/client/api"
)

func TestValidateInstanceKey(t *testing.T) {
	tests := []struct {
		key, value string
		ok         bool
	}{
		// limits.memory: sizes and percentages.
		{"limits.memory", "512MiB", true},
		{"limits.memory", "1GB", true},
		{"limits.memory", "2GiB", true},
		{"limits.memory", "1048576", true},
		{"limits.memory", "50%", true},
		{"limits.memory", "100%", true},
		{"limits.memory", "", true}, // unset
		{"limits.memory", "lots", false},
		{"limits.memory", "-1", false},
		{"limits.memory", "0", false},
		{"limits.memory", "0MiB", false},
		{"limits.memory", "0%", false},
		{"limits.memory", "101%", false},
		{"limits.memory", "-5%", false},
		{"limits.memory", "12.5%", false},
		{"limits.memory", "512XB", false},
		{"limits.memory", "MiB", false},
		// limits.cpu: counts and sets.
		{"limits.cpu", "2", true},
		{"limits.cpu", "1", true},
		{"limits.cpu", "0-1", true},
		{"limits.cpu", "0,2", true},
		{"limits.cpu", "0-1,4,6-7", true},
		{"limits.cpu", "", true},
		{"limits.cpu", "0", false},
		{"limits.cpu", "-1", false},
		{"limits.cpu", "abc", false},
		{"limits.cpu", "0-", false},
		{"limits.cpu", "1,,2", false},
		// limits.processes: a positive count.
		{"limits.processes", "500", true},
		{"limits.processes", "0", false},
		{"limits.processes", "many", false},
		// Booleans, as LXD accepts them.
		{"security.privileged", "true", true},
		{"security.privileged", "false", true},
		{"security.privileged", "TRUE", true},
		{"security.privileged", "1", true},
		{"security.privileged", "0", true},
		{"security.privileged", "yes", true},
		{"security.privileged", "off", true},
		{"security.privileged", "", true},
		{"security.privileged", "maybe", false},
		{"security.privileged", "2", false},
		{"security.nesting", "on", true},
		{"security.nesting", "nope", false},
		{"boot.autostart", "no", true},
		{"boot.autostart", "sometimes", false},
		{"boot.autostart.delay", "10", true},
		{"boot.autostart.delay", "-1", false},
		{"boot.autostart.delay", "3601", false},
		{"boot.autostart.priority", "-3", true},
		{"boot.autostart.priority", "high", false},
		{"boot.stop.priority", "5", true},
		{"boot.stop.priority", "1.5", false},
		{"raw.lxc", "lxc.apparmor.profile = unconfined\nlxc.mount.auto = sys:rw", true},
		// Free namespaces.
		{"user.anything", "any value at all", true},
		{"user.x.y.z", "", true},
		{"environment.FOO", "bar baz", true},
		{"environment.http_proxy", "http://proxy:3128", true},
		{"image.os", "debian", true},
		{"user.", "x", false}, // a prefix alone is not a key
		{"environment.", "x", false},
		// Unknown keys.
		{"limits.bogus", "1", false},
		{"security.idmap.isolated", "true", false}, // not supported yet
		{"nonsense", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		err := ValidateInstanceKey(tt.key, tt.value, true)
		if tt.ok {
			if err != nil {
				t.Errorf("%s=%q: unexpected error %v", tt.key, tt.value, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s=%q: accepted, want an error", tt.key, tt.value)
			continue
		}
		if !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%s=%q: error %v is not ErrInvalid", tt.key, tt.value, err)
		}
		if tt.key != "" && !strings.Contains(err.Error(), `"`+tt.key+`"`) {
			t.Errorf("%s=%q: error %q does not name the key", tt.key, tt.value, err)
		}
	}
}

func TestVolatileKeysAreReadOnlyForUsers(t *testing.T) {
	err := ValidateInstanceKey("volatile.eth0.hwaddr", "00:16:3e:00:00:01", true)
	if !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("user setting volatile key: err = %v, want ErrInvalid", err)
	}
	if !strings.Contains(err.Error(), `"volatile.eth0.hwaddr"`) || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("error %q should name the key and say it is read-only", err)
	}
	if err := ValidateInstanceKey("volatile.eth0.hwaddr", "00:16:3e:00:00:01", false); err != nil {
		t.Errorf("daemon setting volatile key: %v", err)
	}
}

func TestValidateInstanceConfig(t *testing.T) {
	stored := map[string]string{
		"volatile.base_image":       "abc123",
		"volatile.last_state.power": "STOPPED",
		"image.os":                  "debian",
	}
	tests := []struct {
		name string
		cfg  map[string]string
		old  map[string]string
		bad  string // the key the error must name, "" if valid
	}{
		{"empty", map[string]string{}, nil, ""},
		{"nil", nil, nil, ""},
		{"plain keys", map[string]string{"limits.cpu": "2", "user.x": "y"}, nil, ""},
		// LXD's clients PUT back everything they GET, volatile keys included.
		{"stored volatile unchanged", map[string]string{"volatile.base_image": "abc123", "volatile.last_state.power": "STOPPED", "user.a": "b"}, stored, ""},
		{"stored volatile changed", map[string]string{"volatile.base_image": "evil"}, stored, "volatile.base_image"},
		{"new volatile key", map[string]string{"volatile.eth0.hwaddr": "x"}, stored, "volatile.eth0.hwaddr"},
		{"volatile on create", map[string]string{"volatile.base_image": "abc123"}, nil, "volatile.base_image"},
		{"volatile with empty old value", map[string]string{"volatile.x": ""}, map[string]string{}, "volatile.x"},
		{"bad value among good", map[string]string{"user.a": "b", "limits.memory": "lots"}, nil, "limits.memory"},
		{"unknown key", map[string]string{"limits.cpus": "2"}, stored, "limits.cpus"},
	}
	for _, tt := range tests {
		err := ValidateInstanceConfig(tt.cfg, tt.old)
		if tt.bad == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tt.name, err)
			continue
		}
		if !strings.Contains(err.Error(), `"`+tt.bad+`"`) {
			t.Errorf("%s: error %q does not name %s", tt.name, err, tt.bad)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"1", 1},
		{"1048576", 1048576},
		{"10B", 10},
		{"2kB", 2000},
		{"3MB", 3000000},
		{"1GB", 1000000000},
		{"1TB", 1000000000000},
		{"4KiB", 4096},
		{"512MiB", 512 << 20},
		{"2GiB", 2 << 30},
		{"1TiB", 1 << 40},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "0", "-1", "lots", "1.5GiB", "GiB", "1 GiB", "1gib", "1Gi", "99999999999999999999"} {
		if n, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, n)
		}
	}
}

// A size whose value overflows int64 bytes must be refused, not wrap around to a negative or
// small limit.
func TestParseSizeOverflow(t *testing.T) {
	for _, in := range []string{"9999999999TiB", "10000000TB", "9000000000GiB"} {
		n, err := ParseSize(in)
		if err == nil {
			t.Errorf("ParseSize(%q) = %d with no error: the multiplication overflowed int64", in, n)
		}
	}
}

func TestIsTrue(t *testing.T) {
	for _, v := range []string{"true", "TRUE", "1", "yes", "on", "On"} {
		if !IsTrue(v) {
			t.Errorf("IsTrue(%q) = false", v)
		}
	}
	for _, v := range []string{"", "false", "0", "no", "off", "maybe"} {
		if IsTrue(v) {
			t.Errorf("IsTrue(%q) = true", v)
		}
	}
}

// One boolean parser: LXD's words in any case; anything else is an error, and IsBool, IsTrue
// and the lab reader agree with it.
func TestParseBool(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
		ok   bool
	}{
		{"true", true, true}, {"TRUE", true, true}, {"1", true, true}, {"yes", true, true}, {"On", true, true},
		{"false", false, true}, {"False", false, true}, {"0", false, true}, {"no", false, true}, {"OFF", false, true},
		{"", false, false}, {"t", false, false}, {"maybe", false, false}, {"2", false, false}, {" true", false, false},
	} {
		got, err := ParseBool(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseBool(%q) = %v, %v; want %v (ok %v)", c.in, got, err, c.want, c.ok)
		}
		if (IsBool(c.in) == nil) != c.ok {
			t.Errorf("IsBool(%q) disagrees with ParseBool", c.in)
		}
		if IsTrue(c.in) != (c.ok && c.want) {
			t.Errorf("IsTrue(%q) disagrees with ParseBool", c.in)
		}
	}
}

// One priority scale (0-10) for the validator table and the cgroup code.
func TestParsePriority(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true}, {"5", 5, true}, {"10", 10, true},
		{"-1", 0, false}, {"11", 0, false}, {"", 0, false}, {"x", 0, false}, {"1.5", 0, false},
	} {
		got, err := ParsePriority(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParsePriority(%q) = %d, %v; want %d (ok %v)", c.in, got, err, c.want, c.ok)
		}
		for _, key := range []string{"limits.cpu.priority", "limits.disk.priority"} {
			if (ValidateInstanceKey(key, c.in, true) == nil) != (c.ok || c.in == "") {
				t.Errorf("%s=%q: the validator table disagrees with ParsePriority", key, c.in)
			}
		}
	}
}

func TestCombinators(t *testing.T) {
	one := IsOneOf("a", "b")
	if one("a") != nil || one("b") != nil {
		t.Error("IsOneOf refuses a listed word")
	}
	if err := one("c"); err == nil || !strings.Contains(err.Error(), "a, b") {
		t.Errorf("IsOneOf(c) = %v, want an error listing the words", err)
	}
	r := IsUintRange(2, 4)
	for v, ok := range map[string]bool{"2": true, "4": true, "1": false, "5": false, "x": false, "": false} {
		if (r(v) == nil) != ok {
			t.Errorf("IsUintRange(2,4)(%q) ok = %v, want %v", v, !ok, ok)
		}
	}
	if Optional(IsInt64)("") != nil || Optional(IsInt64)("x") == nil || Optional(IsInt64)("7") != nil {
		t.Error("Optional(IsInt64) misbehaves")
	}
	if IsInt64("") == nil {
		t.Error("IsInt64 accepts empty")
	}
	if IsAny("anything") != nil {
		t.Error("IsAny refused a value")
	}
}

func TestNetworkDeviceKeys(t *testing.T) {
	good := map[string]map[string]string{
		"eth0": {"type": "nic", "network": "litebr0", "ipv4.address": "10.1.2.3", "hwaddr": "00:16:3e:aa:bb:cc"},
		"eth1": {"type": "nic", "nictype": "bridged", "parent": "br0", "name": "eth1", "mtu": "1400"},
		"http": {"type": "proxy", "listen": "tcp:127.0.0.1:8080", "connect": "tcp:127.0.0.1:80"},
	}
	if err := ValidateDevices(good); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []map[string]string{
		{"type": "nic", "network": "n", "ipv4.address": "10.1.2.3/24"},
		{"type": "nic", "network": "n", "hwaddr": "zz"},
		{"type": "nic", "nictype": "macvlan", "parent": "eth0"},
		{"type": "nic", "network": "n", "name": "a-very-long-interface"},
		{"type": "proxy", "listen": "x", "connect": "y", "bind": "instance"},
		{"type": "nic", "network": "n", "vlan": "5"},
	} {
		if err := ValidateDevices(map[string]map[string]string{"d": bad}); err == nil {
			t.Errorf("ValidateDevices(%v) accepted", bad)
		}
	}
}

func TestValidateMoreKeys(t *testing.T) {
	tests := []struct {
		key, value string
		ok         bool
	}{
		{"limits.cpu.allowance", "50%", true},
		{"limits.cpu.allowance", "100%", true},
		{"limits.cpu.allowance", "25ms/100ms", true},
		{"limits.cpu.allowance", "1ms/1000ms", true},
		{"limits.cpu.allowance", "0%", false},
		{"limits.cpu.allowance", "101%", false},
		{"limits.cpu.allowance", "0ms/100ms", false},
		{"limits.cpu.allowance", "25ms/2000ms", false},
		{"limits.cpu.allowance", "25ms", false},
		{"limits.cpu.allowance", "half", false},
		{"limits.cpu.priority", "0", true},
		{"limits.cpu.priority", "10", true},
		{"limits.cpu.priority", "11", false},
		{"limits.cpu.priority", "-1", false},
		{"limits.disk.priority", "5", true},
		{"limits.disk.priority", "x", false},
		{"limits.memory.enforce", "hard", true},
		{"limits.memory.enforce", "soft", true},
		{"limits.memory.enforce", "medium", false},
		{"limits.memory.swap", "false", true},
		{"limits.memory.swap", "nah", false},
		{"security.idmap.isolated", "false", true},
		{"security.idmap.isolated", "true", false}, // not supported yet
		{"security.idmap.isolated", "maybe", false},
		{"raw.lxc", "", true},
		{"raw.lxc", "# comment\n\nlxc.apparmor.profile = unconfined", true},
		{"raw.lxc", "lxc.cgroup.devices.allow = c 10:200 rwm", true},
		{"raw.lxc", "lxc.rootfs.path = dir:/", false},
		{"raw.lxc", "lxc.rootfs = /", false},
		{"raw.lxc", "lxc.idmap = u 0 0 1", false},
		{"raw.lxc", "lxc.net.0.type = phys", false},
		{"raw.lxc", "lxc.uts.name = other", false},
		{"raw.lxc", "lxc.include = /etc/passwd", false},
		{"raw.lxc", "not a line", false},
		{"raw.lxc", "foo = bar", false},
	}
	for _, tt := range tests {
		err := ValidateInstanceKey(tt.key, tt.value, true)
		if tt.ok != (err == nil) {
			t.Errorf("%s=%q: err = %v, want ok=%v", tt.key, tt.value, err, tt.ok)
			continue
		}
		if err != nil && (!errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), `"`+tt.key+`"`)) {
			t.Errorf("%s=%q: error %q is not ErrInvalid naming the key", tt.key, tt.value, err)
		}
	}
	err := ValidateInstanceKey("raw.lxc", "lxc.net.0.type = phys", true)
	if err == nil || !strings.Contains(err.Error(), "lxc.net.0.type") {
		t.Errorf("raw.lxc error %v does not name the lxc key", err)
	}
	if err := ValidateInstanceKey("security.idmap.isolated", "true", true); err == nil || !strings.Contains(err.Error(), "not supported yet") {
		t.Errorf("security.idmap.isolated=true: %v, want 'not supported yet'", err)
	}
}

func TestParseCPUAllowance(t *testing.T) {
	a, err := ParseCPUAllowance("25ms/100ms")
	if err != nil || a.Quota != 25000 || a.Period != 100000 || a.Percent != 0 {
		t.Errorf("25ms/100ms = %+v, %v", a, err)
	}
	a, err = ParseCPUAllowance("40%")
	if err != nil || a.Percent != 40 || a.Quota != 0 {
		t.Errorf("40%% = %+v, %v", a, err)
	}
}
