package server_test

import (
	"strings"
	"testing"

	"lite/client/api"
)

// /1.0/containers is /1.0/instances under LXD 5.0's legacy name: the same handlers and
// objects, LXD's URLs in lists, ?project=default accepted and any other project a 404.
func TestLegacyContainersEndpoints(t *testing.T) {
	e := newEnv(t)
	e.succeed("POST", "/1.0/containers", map[string]any{"name": "c1", "source": map[string]any{"type": "image", "alias": "debian/12"}})
	var urls []string
	e.ok("GET", "/1.0/containers", nil, &urls)
	if len(urls) != 1 || urls[0] != "/1.0/containers/c1" {
		t.Errorf("GET /1.0/containers = %v", urls)
	}
	e.ok("GET", "/1.0/instances", nil, &urls)
	if len(urls) != 1 || urls[0] != "/1.0/instances/c1" {
		t.Errorf("GET /1.0/instances = %v", urls)
	}
	legacy := e.ok("GET", "/1.0/containers/c1?project=default", nil, nil)
	current := e.ok("GET", "/1.0/instances/c1", nil, nil)
	if string(legacy.env.Metadata) != string(current.env.Metadata) {
		t.Errorf("the same container differs:\n%s\n%s", legacy.env.Metadata, current.env.Metadata)
	}
	// A user value that looks like an API path is data, left as written.
	e.succeed("PATCH", "/1.0/containers/c1", map[string]any{"config": map[string]string{"user.link": "/1.0/instances/c1"}})
	var inst api.Instance
	e.ok("GET", "/1.0/containers/c1", nil, &inst)
	if inst.Config["user.link"] != "/1.0/instances/c1" {
		t.Errorf("user.link came back as %q", inst.Config["user.link"])
	}
	op := e.succeed("PUT", "/1.0/containers/c1/state", map[string]any{"action": "start", "timeout": -1})
	if got := op.Resources["containers"]; len(got) != 1 || got[0] != "/1.0/instances/c1" {
		t.Errorf("operation resources %v", op.Resources)
	}
	// operation_description and container_last_used_at.
	if op.Description != "Starting instance" {
		t.Errorf("operation description %q", op.Description)
	}
	e.ok("GET", "/1.0/containers/c1", nil, &inst)
	if inst.LastUsedAt.Unix() <= 0 {
		t.Errorf("last_used_at %v after a start", inst.LastUsedAt)
	}
	e.succeed("POST", "/1.0/containers/c1/snapshots", map[string]any{"name": "s0"})
	e.ok("GET", "/1.0/containers/c1/snapshots", nil, &urls)
	if len(urls) != 1 || urls[0] != "/1.0/containers/c1/snapshots/s0" {
		t.Errorf("GET /1.0/containers/c1/snapshots = %v", urls)
	}
	e.ok("GET", "/1.0/containers/c1/logs", nil, &urls)
	if len(urls) != 1 || urls[0] != "/1.0/containers/c1/logs/lxc.log" {
		t.Errorf("GET /1.0/containers/c1/logs = %v", urls)
	}
	// snapshot_expiry: PUT sets a snapshot's expiry.
	e.succeed("PUT", "/1.0/containers/c1/snapshots/s0", map[string]any{"expires_at": "2099-01-02T03:04:05Z"})
	var snap api.InstanceSnapshot
	e.ok("GET", "/1.0/containers/c1/snapshots/s0", nil, &snap)
	if snap.ExpiresAt.Year() != 2099 {
		t.Errorf("snapshot expires_at %v after PUT", snap.ExpiresAt)
	}
	var st api.InstanceState
	e.ok("GET", "/1.0/containers/c1/state", nil, &st)
	if st.Status != "Running" {
		t.Errorf("state %q", st.Status)
	}
	// LXD's client names the snapshot to restore "c1/s0"; another instance's is refused.
	e.succeed("PUT", "/1.0/containers/c1", map[string]any{"restore": "c1/s0"})
	if msg := e.fail("PUT", "/1.0/instances/c1", map[string]any{"restore": "c2/s0"}, 400); !strings.Contains(msg, "own instance") {
		t.Errorf("restore of another instance's snapshot: %q", msg)
	}

	for _, p := range []string{"/1.0/containers?project=other", "/1.0/instances/c1?project=other", "/1.0/networks?project=p2"} {
		if msg := e.fail("GET", p, nil, 404); !strings.Contains(msg, "Project not found") {
			t.Errorf("GET %s: %q", p, msg)
		}
	}
	e.fail("GET", "/1.0/containers/nosuch", nil, 404)
	e.fail("GET", "/1.0/virtual-machines", nil, 404)
}

// LXD's freeze state action needs a running container (the fake runtime keeps no frozen
// state: test/ansible_test.go checks FROZEN on a real one).
func TestFreezeUnfreeze(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	if msg := e.failOp("PUT", "/1.0/instances/c1/state", map[string]any{"action": "freeze"}); !strings.Contains(msg, "not running") {
		t.Errorf("freeze of a stopped container: %q", msg)
	}
	e.start("c1")
	e.succeed("PUT", "/1.0/instances/c1/state", map[string]any{"action": "freeze"})
	if msg := e.fail("PUT", "/1.0/instances/c1/state", map[string]any{"action": "pause"}, 400); !strings.Contains(msg, "freeze") {
		t.Errorf("unknown action: %q", msg)
	}
}

// LXD's client sends the source's config back on copy, volatile keys included: they are
// dropped (the copy inherits the source's image and makes its own uuid and MACs), not refused.
func TestCopyAcceptsClientVolatileKeys(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	src, _ := e.getInstance("c1")
	e.succeed("POST", "/1.0/instances", map[string]any{
		"name": "c2", "source": map[string]any{"type": "copy", "source": "c1"},
		"config": map[string]string{"volatile.base_image": "f00d", "volatile.uuid": src.Config["volatile.uuid"],
			"volatile.eth0.hwaddr": "00:16:3e:00:00:01", "user.a": "b"},
	})
	got, _ := e.getInstance("c2")
	if got.Config["volatile.base_image"] != src.Config["volatile.base_image"] || got.Config["user.a"] != "b" {
		t.Errorf("copy config: %v", got.Config)
	}
	if got.Config["volatile.uuid"] == src.Config["volatile.uuid"] || got.Config["volatile.eth0.hwaddr"] == "00:16:3e:00:00:01" {
		t.Errorf("the copy took the client's volatile keys: %v", got.Config)
	}
}
