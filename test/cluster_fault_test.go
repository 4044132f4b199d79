package test

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// memberRequestBound is how long one lite command may take while a member is down: a
// request that does not need the dead member must be served, one that does must fail
// clearly; none may hang. It bounds failures, it measures nothing.
const memberRequestBound = 60 * time.Second

// offlineBound is the "within 20 s it is shown offline" (polled, so a failure
// bound); onlineBound is how long a restarted member may take to show online again.
const (
	offlineBound = 20 * time.Second
	onlineBound  = 60 * time.Second
)

// liteBounded runs lite on d and fails the test if it does not exit 0 within
// memberRequestBound.
func liteBounded(t *testing.T, d *Daemon, args ...string) string {
	t.Helper()
	stdout, stderr, code := d.liteTimeout(memberRequestBound, nil, args...)
	if code != 0 {
		t.Fatalf("lite %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

// statusesOn returns NAME -> STATUS of `lite cluster list` on d, bounded.
func statusesOn(t *testing.T, d *Daemon) map[string]string {
	t.Helper()
	out := liteBounded(t, d, "cluster", "list", "--format", "csv")
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Split(line, ","); len(f) >= 4 {
			got[f[0]] = f[3]
		}
	}
	return got
}

// waitStatus polls `lite cluster list` on each of on until member has status want; it
// returns how long that took.
func waitStatus(t *testing.T, bound time.Duration, member, want string, on ...*Daemon) time.Duration {
	t.Helper()
	start := time.Now()
	for _, d := range on {
		eventually(t, bound-time.Since(start), fmt.Sprintf("%s %s in cluster list on %s", member, want, d.Dir), func() (bool, string) {
			m := statusesOn(t, d)
			return m[member] == want, fmt.Sprint(m)
		})
	}
	return time.Since(start)
}

// profileMark reads user.mark of profile name on d.
func profileMark(t *testing.T, d *Daemon, name string) string {
	t.Helper()
	return strings.TrimSpace(liteBounded(t, d, "profile", "get", name, "user.mark"))
}

// startAll starts stopped daemons at once: a member that restarts waits for the others
// to reach a quorum, so one at a time would wait forever for the next.
func startAll(t *testing.T, ds ...*Daemon) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(ds))
	for i, d := range ds {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = d.start() }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestClusterMemberDown: three lited on loopback. One is killed (SIGKILL): the others show
// it offline, keep serving reads and writes, and it comes back online by itself with what
// was written while it was away. Two killed: the third stops promptly on SIGTERM although
// its database has no quorum, and the three come back together. A dead member is removed
// with --force and the cluster goes on with two.
func TestClusterMemberDown(t *testing.T) {
	h1, h2, h3 := startDaemon(t), startDaemon(t), startDaemon(t)
	// The members share the host's network namespace here: a cluster network would be one
	// bridge name made by all three. No instance runs, so h1's default network goes before
	// it becomes the cluster's (the netns harness tests cluster networks).
	mustLite(t, h1, "profile", "device", "remove", "default", "eth0")
	mustLite(t, h1, "network", "delete", h1.Net)
	_, db1 := clusterHost(t, h1)
	_, db2 := clusterHost(t, h2)
	_, db3 := clusterHost(t, h3)
	mustLite(t, h1, "cluster", "enable", "h1", "--database-address", db1)
	mustLite(t, h2, "cluster", "join", clusterToken(t, h1, "h2"), "--database-address", db2)
	mustLite(t, h3, "cluster", "join", clusterToken(t, h1, "h3"), "--database-address", db3)
	for _, d := range []*Daemon{h1, h2, h3} {
		for _, name := range []string{"h1", "h2", "h3"} {
			waitStatus(t, onlineBound, name, "Online", d)
		}
	}
	mustLite(t, h1, "profile", "create", "made-on-h1")
	mustLite(t, h1, "profile", "set", "made-on-h1", "user.mark", "one")
	mustLite(t, h3, "profile", "create", "made-on-h3")
	mustLite(t, h3, "profile", "set", "made-on-h3", "user.mark", "three")

	// h3 killed: offline on the others, which go on serving.
	h3.Kill(t)
	took := waitStatus(t, offlineBound, "h3", "Offline", h1, h2)
	t.Logf("h3 shown Offline on h1 and h2 %s after SIGKILL", took.Round(100*time.Millisecond))
	for _, d := range []*Daemon{h1, h2} {
		if m := statusesOn(t, d); m["h1"] != "Online" || m["h2"] != "Online" {
			t.Errorf("survivors' status: %v", m)
		}
	}
	liteBounded(t, h2, "list")
	liteBounded(t, h1, "profile", "create", "made-while-h3-down")
	liteBounded(t, h2, "profile", "set", "made-while-h3-down", "user.mark", "written-by-h2")
	liteBounded(t, h1, "profile", "set", "made-on-h3", "user.mark", "changed")
	if got := profileMark(t, h1, "made-while-h3-down"); got != "written-by-h2" {
		t.Errorf("h1 reads %q, want written-by-h2", got)
	}
	show := liteBounded(t, h2, "cluster", "show", "h3")
	if !strings.Contains(show, "status: Offline") {
		t.Errorf("cluster show h3 while it is down:\n%s", show)
	}

	// h3 back: online by itself, with the rows written while it was away, nothing lost.
	restarted := time.Now()
	startAll(t, h3)
	took = waitStatus(t, onlineBound, "h3", "Online", h1, h2, h3)
	t.Logf("h3 shown Online everywhere %s after its lited was started again (%s after it answered)",
		time.Since(restarted).Round(100*time.Millisecond), took.Round(100*time.Millisecond))
	for want, name := range map[string]string{"one": "made-on-h1", "changed": "made-on-h3", "written-by-h2": "made-while-h3-down"} {
		if got := profileMark(t, h3, name); got != want {
			t.Errorf("h3 after its restart: %s user.mark = %q, want %q", name, got, want)
		}
	}
	// Still online a few beats later (a restarted member that does not beat would turn
	// Offline again after offlineAfter): poll until the status has been checked past it.
	since := time.Now()
	eventually(t, 60*time.Second, "h3 still Online after 20 s", func() (bool, string) {
		m := statusesOn(t, h1)
		if m["h3"] != "Online" {
			t.Fatalf("h3 turned %s again %s after it came back: its heartbeat does not run", m["h3"], time.Since(since))
		}
		return time.Since(since) > 20*time.Second, fmt.Sprint(m)
	})

	// h1, the first member (the database leader then, most likely), stops answering without
	// closing its connections, as a member cut off from the network does: SIGSTOP. The
	// others elect a leader among themselves and serve; none of their requests may wait for
	// it forever. SIGCONT: it is back by itself.
	frozen := h1.Pid()
	t.Cleanup(func() { _ = syscall.Kill(frozen, syscall.SIGCONT) })
	if err := syscall.Kill(frozen, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	took = waitStatus(t, offlineBound+memberRequestBound, "h1", "Offline", h2, h3)
	t.Logf("h1 (SIGSTOP) shown Offline on h2 and h3 %s after it stopped answering", took.Round(100*time.Millisecond))
	liteBounded(t, h2, "profile", "set", "made-on-h1", "user.mark", "written-while-h1-cut-off")
	if got := profileMark(t, h3, "made-on-h1"); got != "written-while-h1-cut-off" {
		t.Errorf("h3 reads %q while h1 is cut off, want written-while-h1-cut-off", got)
	}
	liteBounded(t, h3, "list")
	if err := syscall.Kill(frozen, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	took = waitStatus(t, onlineBound, "h1", "Online", h1, h2, h3)
	t.Logf("h1 shown Online everywhere %s after SIGCONT", took.Round(100*time.Millisecond))
	if got := profileMark(t, h1, "made-on-h1"); got != "written-while-h1-cut-off" {
		t.Errorf("h1 back: reads %q, want written-while-h1-cut-off", got)
	}

	// Quorum lost: h2 and h3 killed, h1 stops on SIGTERM within a bound all the same.
	h2.Kill(t)
	h3.Kill(t)
	termAt, logFrom := time.Now(), h1.logSize()
	if err := h1.signal(syscall.SIGTERM, 60*time.Second); err != nil {
		t.Fatalf("h1 without quorum: %v", err)
	}
	t.Logf("h1 without quorum exited %s after SIGTERM", time.Since(termAt).Round(100*time.Millisecond))
	if log := h1.readLog(logFrom); strings.Contains(log, "did not stop within the shutdown limit") || !strings.Contains(log, "lited stopped") {
		t.Errorf("h1 without quorum did not stop by itself on SIGTERM; its log:\n%s", log)
	}
	startAll(t, h1, h2, h3)
	for _, name := range []string{"h1", "h2", "h3"} {
		waitStatus(t, onlineBound, name, "Online", h1, h2, h3)
	}
	if got := profileMark(t, h2, "made-while-h3-down"); got != "written-by-h2" {
		t.Errorf("after the whole cluster restarted: %q, want written-by-h2", got)
	}

	// An offline member removed with --force; the two others go on. (Stopped, not killed:
	// a removed member is not started again, so it must not leave its mounts behind.)
	if err := h3.stop(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, offlineBound, "h3", "Offline", h1)
	liteBounded(t, h1, "cluster", "remove", "h3", "--force")
	if m := statusesOn(t, h2); len(m) != 2 || m["h1"] != "Online" || m["h2"] != "Online" {
		t.Errorf("members after removing h3: %v", m)
	}
	liteBounded(t, h2, "profile", "set", "made-on-h1", "user.mark", "after-removal")
	if got := profileMark(t, h1, "made-on-h1"); got != "after-removal" {
		t.Errorf("after removing h3: %q, want after-removal", got)
	}
}
