package server_test

import (
	"strings"
	"testing"
)

// TestPutWithStaleVolatile sends back a config read before a start (power STOPPED) with one
// change, as `lite config set` racing `lite start` does: the change is applied and the power
// state stays RUNNING. Changing a volatile key fixed at creation is still refused.
func TestPutWithStaleVolatile(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	stale, _ := e.getInstance("c1")
	e.start("c1")
	put := stale.InstancePut
	put.Config["user.note"] = "after start"
	e.succeed("PUT", "/1.0/instances/c1", put)
	got, _ := e.getInstance("c1")
	if got.Config["user.note"] != "after start" || got.Config["volatile.last_state.power"] != "RUNNING" {
		t.Errorf("after a PUT with a stale power state: note %q, power %q", got.Config["user.note"], got.Config["volatile.last_state.power"])
	}
	put = got.InstancePut
	put.Config["volatile.base_image"] = "x"
	if msg := e.failOp("PUT", "/1.0/instances/c1", put); !strings.Contains(msg, "read-only") {
		t.Errorf("changing volatile.base_image: %q", msg)
	}
}
