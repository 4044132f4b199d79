package test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"lite/client/api"
	"lite/client/trust"
)

// clusterHost sets core.https_address of d to a free loopback port and returns it with a
// free port for its database node.
func clusterHost(t *testing.T, d *Daemon) (https, db string) {
	t.Helper()
	https, db = "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t)
	mustLite(t, d, "config", "set", "core.https_address", https)
	return https, db
}

// clusterMembers returns NAME -> STATUS of `lite cluster list` on d.
func clusterMembers(t *testing.T, d *Daemon) map[string]string {
	t.Helper()
	out := mustLite(t, d, "cluster", "list", "--format", "csv")
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Split(line, ","); len(f) >= 4 {
			got[f[0]] = f[3]
		}
	}
	return got
}

// TestClusterCore: two lited on loopback. h1 enables clustering (its state moves into
// dqlite and survives a restart), prints a token, h2 joins with it; refused joins change
// nothing; the forwarding header is refused from a non-member; h2 is removed.
func TestClusterCore(t *testing.T) {
	h1, h2 := startDaemon(t), startDaemon(t)
	https1, db1 := clusterHost(t, h1)
	_, db2 := clusterHost(t, h2)

	// State made before enabling is there after it.
	mustLite(t, h1, "profile", "create", "before-cluster")
	mustLite(t, h1, "profile", "set", "before-cluster", "user.mark", "kept")
	profilesBefore := mustLite(t, h1, "profile", "list", "--format", "csv")
	networksBefore := mustLite(t, h1, "network", "list", "--format", "csv")

	_, stderr, code := h1.Lite("cluster", "add", "h2")
	oneLineError(t, "cluster add before enable", stderr, code, "not part of a cluster")
	mustLite(t, h1, "cluster", "enable", "h1", "--database-address", db1)
	if got := mustLite(t, h1, "profile", "list", "--format", "csv"); got != profilesBefore {
		t.Errorf("profiles after enable:\n%s\nwant\n%s", got, profilesBefore)
	}
	if got := mustLite(t, h1, "network", "list", "--format", "csv"); got != networksBefore {
		t.Errorf("networks after enable:\n%s\nwant\n%s", got, networksBefore)
	}
	if m := clusterMembers(t, h1); len(m) != 1 || m["h1"] != "Online" {
		t.Fatalf("members after enable: %v", m)
	}
	// At restart lited opens dqlite again.
	h1.Restart(t)
	if got := strings.TrimSpace(mustLite(t, h1, "profile", "get", "before-cluster", "user.mark")); got != "kept" {
		t.Errorf("after restart: user.mark = %q", got)
	}
	if got := strings.TrimSpace(mustLite(t, h1, "config", "get", "core.https_address")); got != https1 {
		t.Errorf("after restart: core.https_address = %q, want %q", got, https1)
	}
	_, stderr, code = h1.Lite("cluster", "enable", "h1")
	oneLineError(t, "enable twice", stderr, code, "already cluster member")

	// Refused joins leave the cluster unchanged.
	tok := clusterToken(t, h1, "h2")
	_, stderr, code = h2.Lite("cluster", "join", "--name", "other", tok)
	oneLineError(t, "join under another name", stderr, code, `token is for a member called "h2"`)
	_, stderr, code = h2.Lite("cluster", "join", "bm90IGEgdG9rZW4=")
	oneLineError(t, "join with garbage", stderr, code, "not a cluster join token")
	bad, err := trust.DecodeClusterToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	bad.Secret = strings.Repeat("0", len(bad.Secret))
	badTok, _ := trust.EncodeClusterToken(bad)
	_, stderr, code = h2.Lite("cluster", "join", badTok)
	oneLineError(t, "join with a wrong secret", stderr, code, "join token refused")
	if m := clusterMembers(t, h1); len(m) != 1 {
		t.Fatalf("members after refused joins: %v", m)
	}

	mustLite(t, h2, "cluster", "join", tok, "--database-address", db2)
	for _, d := range []*Daemon{h1, h2} {
		eventually(t, 30*time.Second, "both members online", func() (bool, string) {
			m := clusterMembers(t, d)
			return len(m) == 2 && m["h1"] == "Online" && m["h2"] == "Online", ""
		})
	}
	// h2 serves the cluster's state: the profile made on h1 before enabling.
	if got := strings.TrimSpace(mustLite(t, h2, "profile", "get", "before-cluster", "user.mark")); got != "kept" {
		t.Errorf("h2 reads user.mark = %q", got)
	}
	show := mustLite(t, h1, "cluster", "show", "h2")
	if !strings.Contains(show, "server_name: h2") || !strings.Contains(show, "status: Online") {
		t.Errorf("cluster show h2:\n%s", show)
	}
	checkForwardedRefused(t, h1)

	_, stderr, code = h2.Lite("cluster", "remove", "h2")
	oneLineError(t, "a member removing itself", stderr, code, "cannot remove itself")
	mustLite(t, h1, "cluster", "remove", "h2")
	if m := clusterMembers(t, h1); len(m) != 1 || m["h1"] != "Online" {
		t.Errorf("members after removal: %v", m)
	}
}

// clusterToken runs `lite cluster add name` on d and returns the token it prints.
func clusterToken(t *testing.T, d *Daemon, name string) string {
	t.Helper()
	out := mustLite(t, d, "cluster", "add", name)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	tok := lines[len(lines)-1]
	if _, err := trust.DecodeClusterToken(tok); err != nil {
		t.Fatalf("cluster add printed no token: %v\n%s", err, out)
	}
	return tok
}

// checkForwardedRefused sends X-Lite-Forwarded on the unix socket (a local client, not a
// member): refused with 403.
func checkForwardedRefused(t *testing.T, d *Daemon) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "unix", d.Socket)
	}}, Timeout: 30 * time.Second}
	req, err := http.NewRequest(http.MethodGet, "http://lite/1.0/instances", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Lite-Forwarded", "h9")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env api.Response
	_ = json.NewDecoder(resp.Body).Decode(&env)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(env.Error, "only accepted from cluster members") {
		t.Errorf("forwarded header from a local client: %d %q, want 403", resp.StatusCode, env.Error)
	}
}
