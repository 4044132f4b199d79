package daemon

import (
	"encoding/json"
	"testing"
)

// GET /1.0 is the first thing LXD's clients read (LXD-API.md §2): these fields steer them.
func TestServerInfo(t *testing.T) {
	info := serverInfo("dir")()
	if info.Auth != "trusted" || info.APIVersion != "1.0" || info.Public {
		t.Errorf("auth %q api_version %q public %v", info.Auth, info.APIVersion, info.Public)
	}
	has := map[string]bool{}
	for _, e := range info.APIExtensions {
		has[e] = true
	}
	// Without these the stock client calls /1.0/containers, or lxc list / info fail.
	for _, e := range []string{"instances", "api_filtering", "instance_get_full"} {
		if !has[e] {
			t.Errorf("api_extensions lacks %q", e)
		}
	}
	// These make clients call endpoints lite does not serve.
	for _, e := range []string{"projects", "storage", "instance_bulk_state_change", "resources", "virtual-machines"} {
		if has[e] {
			t.Errorf("api_extensions advertises %q without its endpoints", e)
		}
	}
	env := info.Environment
	if env.Server == "lxd-agent" || env.Server == "" || env.ServerClustered || env.Storage != "dir" || env.Project != "default" {
		t.Errorf("environment = %+v", env)
	}
	b, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Config      json.RawMessage            `json:"config"`
		Extensions  json.RawMessage            `json:"api_extensions"`
		Environment map[string]json.RawMessage `json:"environment"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if string(raw.Config) != "{}" {
		t.Errorf("config = %s, want {}", raw.Config)
	}
	for _, k := range []string{"addresses", "architectures", "kernel_features", "lxc_features", "storage_supported_drivers"} {
		if v := string(raw.Environment[k]); v == "" || v == "null" {
			t.Errorf("environment.%s = %q, want a non-null value", k, v)
		}
	}
}
