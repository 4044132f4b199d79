package server_test

import (
	"strings"
	"testing"
	"time"

	"lite/client/api"
)

func TestOperationEndpoints(t *testing.T) {
	e := newEnv(t)
	e.create("c1", nil)
	e.start("c1")
	// An exec nobody connects to stays running long enough to look at.
	pending, _ := e.execOp("c1", map[string]any{"command": []string{"true"}, "wait-for-websocket": true})

	var got api.Operation
	e.ok("GET", "/1.0/operations/"+pending.ID, nil, &got)
	if got.ID != pending.ID || got.StatusCode != api.Running {
		t.Errorf("GET operation = %+v", got)
	}

	// /wait with a timeout answers with the current state when time is up.
	began := time.Now()
	e.ok("GET", "/1.0/operations/"+pending.ID+"/wait?timeout=0.2", nil, &got)
	if got.StatusCode != api.Running {
		t.Errorf("wait with timeout returned %s", got.Status)
	}
	if time.Since(began) > 4*time.Second {
		t.Errorf("wait?timeout=0.2 took %s, ignoring the timeout", time.Since(began))
	}
	e.fail("GET", "/1.0/operations/"+pending.ID+"/wait?timeout=soon", nil, 400)

	var byStatus map[string][]string
	e.ok("GET", "/1.0/operations", nil, &byStatus)
	if !contains(byStatus["running"], "/1.0/operations/"+pending.ID) || len(byStatus["success"]) == 0 {
		t.Errorf("operations = %v", byStatus)
	}
	var full map[string][]api.Operation
	e.ok("GET", "/1.0/operations?recursion=1", nil, &full)
	found := false
	for _, op := range full["running"] {
		found = found || op.ID == pending.ID
	}
	if !found {
		t.Errorf("recursion=1 operations = %v", full)
	}

	// Operations lite cannot cancel say so.
	if msg := e.fail("DELETE", "/1.0/operations/"+pending.ID, nil, 403); !strings.Contains(msg, "cancel") {
		t.Errorf("cancel refusal %q", msg)
	}
	e.fail("GET", "/1.0/operations/nope", nil, 404)
	e.fail("GET", "/1.0/operations/nope/wait", nil, 404)
	e.fail("DELETE", "/1.0/operations/nope", nil, 404)
}

// Finished operations stay queryable for a few seconds (both LXD clients GET them right after
// they may have ended), then disappear.
func TestFinishedOperationsExpire(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	op := e.succeed("POST", "/1.0/instances", map[string]any{"name": "c1", "source": map[string]any{"type": "image", "fingerprint": testFP}})
	var got api.Operation
	e.ok("GET", "/1.0/operations/"+op.ID, nil, &got)
	if got.StatusCode != api.Success {
		t.Errorf("finished operation = %+v", got)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := e.do("GET", "/1.0/operations/"+op.ID, nil)
		if r.status == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("finished operation never removed")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
