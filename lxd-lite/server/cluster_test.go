package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"lite/client/api"
	"lite/lxd-lite/server"
)

// node is the member the shared database places an instance on.
func (e *env) node(name string) string {
	e.t.Helper()
	n, err := e.db.InstanceNode(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// A create with ?target= sent to one member runs on the other; its operation, the instance's
// state changes, reads and exec all work through the member the client talks to.
func TestClusterTargetAndForwarding(t *testing.T) {
	envs, _ := newCluster(t, "host1", "host2")
	h1, h2 := envs["host1"], envs["host2"]

	op := h1.async("POST", "/1.0/instances?target=host2", map[string]any{"name": "c1", "source": map[string]any{"type": "image", "fingerprint": testFP}})
	if got := h1.wait(op); got.StatusCode != api.Success {
		t.Fatalf("create through host1 on host2: %s %s", got.Status, got.Err)
	}
	if n := h1.node("c1"); n != "host2" {
		t.Errorf("c1 placed on %q, want host2", n)
	}
	if !slices.Contains(h2.containers(), "c1") || slices.Contains(h1.containers(), "c1") {
		t.Errorf("c1's files: host1 has %v, host2 has %v; want only host2", h1.containers(), h2.containers())
	}
	h1.start("c1")
	if st, _ := h2.rt.State(context.Background(), "c1"); !st.Running {
		t.Error("c1 does not run on host2 after a start sent to host1")
	}
	full, _ := h1.getInstance("c1")
	if full.Status != "Running" || full.Location != "host2" {
		t.Errorf("GET c1 through host1: status %q location %q", full.Status, full.Location)
	}

	// exec: the operation and its websockets live on host2, the client talks to host1, and
	// its events reach host1's listeners (lxc reads the exit code from the final one).
	events := h1.listen(api.EventTypeOperation)
	xop, secrets := h1.execOp("c1", map[string]any{"command": []string{"sh", "-c", "echo out-$((6*7))"},
		"wait-for-websocket": true, "interactive": false})
	conns := map[string]*websocket.Conn{}
	for _, fd := range []string{"control", "0", "1", "2"} {
		conns[fd] = h1.connectFd(xop, secrets[fd])
	}
	sendBarrier(t, conns["0"])
	if got := readStream(t, conns["1"]); got != "out-42\n" {
		t.Errorf("forwarded exec stdout = %q", got)
	}
	if final := h1.wait(xop); final.StatusCode != api.Success || returnCode(t, final) != 0 {
		t.Errorf("forwarded exec: %s %s", final.Status, final.Err)
	}
	if code := returnCode(t, events.finalOpEvent(xop.ID)); code != 0 {
		t.Errorf("relayed final event return = %d", code)
	}
	if len(h2.rt.Execs()) != 1 || len(h1.rt.Execs()) != 0 {
		t.Errorf("execs: host1 %d, host2 %d; want the one exec on host2", len(h1.rt.Execs()), len(h2.rt.Execs()))
	}
	// An operation host1 did not forward itself is found by asking the members.
	var got api.Operation
	h2.ok("GET", "/1.0/operations/"+xop.ID, nil, &got)
	h1fresh := h1.ok("GET", "/1.0/operations/"+xop.ID, nil, &got)
	if got.ID != xop.ID || h1fresh.status != http.StatusOK {
		t.Errorf("operation %s through host1: %+v", xop.ID, got)
	}
}

// Without a target, a new instance goes to the member with the fewest instances, the member
// asked on a tie; a copy stays with its source.
func TestClusterPlacementByLoad(t *testing.T) {
	envs, _ := newCluster(t, "host1", "host2")
	h1, h2 := envs["host1"], envs["host2"]
	h1.create("a", nil) // 0-0: host1 asked, host1 wins the tie
	h1.create("b", nil) // host1 1, host2 0
	h2.create("c", nil) // 1-1: host2 asked
	want := map[string]string{"a": "host1", "b": "host2", "c": "host2"}
	for name, member := range want {
		if n := h1.node(name); n != member {
			t.Errorf("%s placed on %q, want %q", name, n, member)
		}
	}
	h1.succeed("POST", "/1.0/instances", map[string]any{"name": "b2", "source": map[string]any{"type": "copy", "source": "b"}})
	if n := h1.node("b2"); n != "host2" {
		t.Errorf("copy of b (on host2) placed on %q", n)
	}
	msg := h1.fail("POST", "/1.0/instances?target=host1", map[string]any{"name": "b3", "source": map[string]any{"type": "copy", "source": "b"}}, http.StatusBadRequest)
	if !strings.Contains(msg, "not supported") || !strings.Contains(msg, "host2") {
		t.Errorf("copy across members: %q", msg)
	}
}

// A member that is offline: clear errors at once for its instances and as a target, its
// instances listed with status Error (as LXD: their state is unknown); the others go on.
func TestClusterOfflineMember(t *testing.T) {
	envs, ms := newCluster(t, "host1", "host2")
	h1 := envs["host1"]
	h1.succeed("POST", "/1.0/instances?target=host2", map[string]any{"name": "far", "source": map[string]any{"type": "image", "fingerprint": testFP}})
	h1.succeed("POST", "/1.0/instances?target=host1", map[string]any{"name": "near", "source": map[string]any{"type": "image", "fingerprint": testFP}})

	var list []api.InstanceFull
	h1.ok("GET", "/1.0/instances?recursion=2", nil, &list)
	if len(list) != 2 || list[0].Name != "far" || list[0].Location != "host2" || list[0].Status != "Stopped" || list[1].Location != "host1" {
		t.Errorf("list with both members online = %+v", list)
	}

	ms.setOnline("host2", false)
	if msg := h1.fail("GET", "/1.0/instances/far", nil, http.StatusServiceUnavailable); !strings.Contains(msg, `"host2" is offline`) {
		t.Errorf("GET an offline member's instance: %q", msg)
	}
	msg := h1.fail("POST", "/1.0/instances?target=host2", map[string]any{"name": "x", "source": map[string]any{"type": "image", "fingerprint": testFP}}, http.StatusServiceUnavailable)
	if !strings.Contains(msg, "offline") {
		t.Errorf("offline target: %q", msg)
	}
	msg = h1.fail("POST", "/1.0/instances?target=host9", map[string]any{"name": "x", "source": map[string]any{"type": "image", "fingerprint": testFP}}, http.StatusNotFound)
	if !strings.Contains(msg, "host9") {
		t.Errorf("unknown target: %q", msg)
	}
	h1.create("y", nil) // the only online member takes it
	if n := h1.node("y"); n != "host1" {
		t.Errorf("with host2 offline, y placed on %q", n)
	}
	h1.ok("GET", "/1.0/instances?recursion=2", nil, &list)
	if len(list) != 3 || list[0].Name != "far" || list[0].Status != "Error" || list[0].Location != "host2" {
		t.Errorf("list with host2 offline = %+v", list)
	}
	if full, _ := h1.getInstance("near"); full.Location != "host1" {
		t.Errorf("near location %q", full.Location)
	}

	// Shown online but not answering (its lited killed before the heartbeat notices).
	ms.mu.Lock()
	ms.online["host2"], ms.urls["host2"] = true, "https://127.0.0.1:1"
	ms.mu.Unlock()
	if msg := h1.fail("GET", "/1.0/instances/far", nil, http.StatusServiceUnavailable); !strings.Contains(msg, `"host2" did not answer`) {
		t.Errorf("GET on a member that does not answer: %q", msg)
	}
	h1.ok("GET", "/1.0/instances?recursion=2", nil, &list)
	if len(list) != 3 || list[0].Status != "Error" {
		t.Errorf("list with host2 not answering = %+v", list)
	}
}

// A daemon that is not clustered refuses ?target= instead of ignoring it.
func TestTargetNeedsCluster(t *testing.T) {
	e := newEnv(t)
	msg := e.fail("POST", "/1.0/instances?target=host2", map[string]any{"name": "c1", "source": map[string]any{"type": "image", "fingerprint": testFP}}, http.StatusBadRequest)
	if !strings.Contains(msg, "not part of a cluster") {
		t.Errorf("target on a single host: %q", msg)
	}
	if len(e.containers()) != 0 {
		t.Errorf("refused create left %v", e.containers())
	}
}

// File transfers to an instance on another member go through the member the client talks
// to, streamed (over the JSON body limit); a forwarded request that reaches the wrong member
// is refused, not served on a container that member does not have.
func TestClusterFilesAndMisrouted(t *testing.T) {
	envs, _ := newCluster(t, "host1", "host2")
	h1, h2 := envs["host1"], envs["host2"]
	// Privileged: ids are not shifted, so the test needs no root to set owners.
	h1.succeed("POST", "/1.0/instances?target=host2", map[string]any{"name": "f1", "config": map[string]string{"security.privileged": "true"},
		"source": map[string]any{"type": "image", "fingerprint": testFP}})
	big := strings.Repeat("x", 5<<20)
	resp, body := fileReq(t, h1, "POST", "/big.txt", map[string]string{"X-LXD-type": "file", "X-LXD-mode": "0640"}, big)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("push through host1: %d %s", resp.StatusCode, body)
	}
	if resp, body := fileReq(t, h2, "GET", "/big.txt", nil, ""); resp.StatusCode != http.StatusOK || body != big {
		t.Errorf("pull on host2: %d, %d bytes", resp.StatusCode, len(body))
	}
	if resp, body := fileReq(t, h1, "GET", "/big.txt", nil, ""); resp.StatusCode != http.StatusOK || body != big {
		t.Errorf("pull through host1: %d, %d bytes", resp.StatusCode, len(body))
	}

	req, err := http.NewRequest("DELETE", "http://lite/1.0/instances/f1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(server.ForwardedHeader, "host2")
	got, err := h1.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got.Body.Close()
	if got.StatusCode != http.StatusConflict {
		t.Errorf("misrouted forwarded DELETE: HTTP %d, want 409", got.StatusCode)
	}
	if n := h1.node("f1"); n != "host2" {
		t.Errorf("after a misrouted DELETE, f1 is on %q", n)
	}
}

// The console of an instance on another member relays both ways through the member the
// client talks to, and detaching frees it there.
func TestClusterConsoleForwarded(t *testing.T) {
	envs, _ := newClusterWith(t, envOptions{console: true}, "host1", "host2")
	h1, h2 := envs["host1"], envs["host2"]
	h1.succeed("POST", "/1.0/instances?target=host2", map[string]any{"name": "c1", "source": map[string]any{"type": "image", "fingerprint": testFP}})
	h1.start("c1")
	op, secrets := h1.consoleOp("c1", map[string]any{"width": 100, "height": 30})
	data := h1.connectFd(op, secrets["0"])
	control := h1.connectFd(op, secrets["control"])
	tty := h2.cons.tty("c1")
	if tty == nil {
		t.Fatal("no console opened on host2")
	}
	if _, err := tty.Write([]byte("login: ")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, data, "login: ")
	if err := data.WriteMessage(websocket.BinaryMessage, []byte("root\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = tty.SetReadDeadline(time.Now().Add(20 * time.Second))
	var in strings.Builder
	for !strings.Contains(in.String(), "root") {
		n, err := tty.Read(buf)
		if err != nil {
			t.Fatalf("console input did not reach host2: %v (got %q)", err, in.String())
		}
		in.Write(buf[:n])
	}
	_ = control.Close()
	expectClosed(t, data, "0")
	if got := h1.wait(op); got.StatusCode != api.Success {
		t.Errorf("console operation after detach: %s %q", got.Status, got.Err)
	}
	waitFor(t, "host2 to free the console", func() bool { return h2.cons.releases("c1") > 0 })
}

// TestLabShareOnlyFromMembers: a lab request carrying a share (one member's part of an up a
// cluster member coordinates) is refused from a client, before anything is read or made.
func TestLabShareOnlyFromMembers(t *testing.T) {
	e := newEnv(t)
	body := api.LabsPost{Source: "name: t\nnodes:\n  a: {}\n", Share: &api.LabShare{Nodes: []string{"a"}}}
	if msg := e.fail("POST", "/1.0/labs", body, 400); !strings.Contains(msg, "share: only a cluster member") {
		t.Errorf("error %q", msg)
	}
}
