package test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lite/client"
	"lite/client/api"
	"lite/db"
)

// timed runs lite args, fails the test on error and returns how long it took.
func timed(t *testing.T, d *Daemon, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	mustLite(t, d, args...)
	return time.Since(start)
}

// setUserKey sets user.<k> on an instance through the API (PUT of its writable part).
func setUserKey(t *testing.T, c *client.Client, name, k, v string) {
	t.Helper()
	ctx := t.Context()
	inst, err := c.GetInstance(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	put := inst.InstancePut
	put.Config["user."+k] = v
	op, err := c.UpdateInstance(ctx, name, put)
	if err == nil {
		err = op.Wait(context.Background())
	}
	if err != nil {
		t.Fatalf("set user.%s on %s: %v", k, name, err)
	}
}

// TestSnapshotRestoreCopyRename drives a booted container through snapshot, restore (running
// and stopped), copy (running source, snapshot source) and rename, and reports the times with
// 100 MB written to its writable layer.
func TestSnapshotRestoreCopyRename(t *testing.T) {
	ctx := t.Context()
	d := sharedDaemon(t)
	c := d.Client(t)
	deleteOnCleanup(t, d, "snap-c1", "snap-c2", "snap-c3", "snap-c4")
	mustLite(t, d, "launch", "debian/12", "snap-c1")
	waitRunning(t, d, "snap-c1")
	mustLite(t, d, "exec", "snap-c1", "--", "sh", "-c", "dd if=/dev/urandom of=/root/big bs=1M count=100 status=none && echo v1 > /root/marker && sync")
	state := func(name string) string {
		return mustLite(t, d, "exec", name, "--", "sh", "-c", "md5sum /root/big | cut -d' ' -f1; cat /root/marker 2>/dev/null || echo gone; cat /etc/hostname")
	}
	orig := state("snap-c1")
	setUserKey(t, c, "snap-c1", "stage", "one")

	snapTime := timed(t, d, "snapshot", "snap-c1")
	mustLite(t, d, "snapshot", "snap-c1", "named")
	list, err := c.GetInstanceSnapshots(ctx, "snap-c1")
	if err != nil || len(list) != 2 || list[0].Name != "snap0" || list[1].Name != "named" || list[0].Config["user.stage"] != "one" {
		t.Fatalf("snapshots: %+v, %v; want snap0 and named with user.stage=one", list, err)
	}
	if out := mustLite(t, d, "info", "snap-c1"); !strings.Contains(out, "Snapshots:") || !strings.Contains(out, "snap0") {
		t.Errorf("lite info lacks the snapshots:\n%s", out)
	}
	if rows := listCSV(t, d, "nS", "snap-c1"); len(rows) != 1 || rows[0][1] != "2" {
		t.Errorf("lite list SNAPSHOTS: %v, want 2", rows)
	}

	// Change the files and the config, then restore the running container.
	mustLite(t, d, "exec", "snap-c1", "--", "sh", "-c", "rm /root/marker; echo junk > /root/big; touch /root/new")
	setUserKey(t, c, "snap-c1", "stage", "two")
	restoreTime := timed(t, d, "restore", "snap-c1", "snap0")
	requireStatus(t, d, "snap-c1", "RUNNING")
	if got := state("snap-c1"); got != orig {
		t.Errorf("after restore: %q, want %q", got, orig)
	}
	if _, _, code := d.Lite("exec", "snap-c1", "--", "test", "-e", "/root/new"); code == 0 {
		t.Errorf("a file made after the snapshot survived the restore")
	}
	if inst, _ := c.GetInstance(ctx, "snap-c1"); inst.Config["user.stage"] != "one" {
		t.Errorf("restore did not bring back the config: user.stage=%q", inst.Config["user.stage"])
	}

	// Copy the running container (frozen while copied), then from a snapshot.
	copyTime := timed(t, d, "copy", "snap-c1", "snap-c2")
	requireStatus(t, d, "snap-c1", "RUNNING")
	mustLite(t, d, "copy", "snap-c1/named", "snap-c3", "--instance-only")
	mustLite(t, d, "start", "snap-c2")
	waitRunning(t, d, "snap-c2")
	if got, want := state("snap-c2"), strings.Replace(orig, "snap-c1", "snap-c2", 1); got != want {
		t.Errorf("copy: %q, want %q (hostname from the copy template)", got, want)
	}
	src, _ := c.GetInstance(ctx, "snap-c1")
	cp, _ := c.GetInstance(ctx, "snap-c2")
	if cp.Config["volatile.uuid"] == src.Config["volatile.uuid"] || cp.Config["volatile.base_image"] != src.Config["volatile.base_image"] {
		t.Errorf("copy volatile keys: uuid %q (source %q), base image %q", cp.Config["volatile.uuid"], src.Config["volatile.uuid"], cp.Config["volatile.base_image"])
	}
	if len(cp.Snapshots) != 2 {
		t.Errorf("copy has %d snapshots, want 2 (the source's)", len(cp.Snapshots))
	}
	if c3, _ := c.GetInstance(ctx, "snap-c3"); len(c3.Snapshots) != 0 {
		t.Errorf("copy of a snapshot has %d snapshots, want 0", len(c3.Snapshots))
	}

	// Stopped restore, snapshot rename and delete, instance rename.
	mustLite(t, d, "stop", "--force", "snap-c2")
	mustLite(t, d, "restore", "snap-c2", "named")
	requireStatus(t, d, "snap-c2", "STOPPED")
	mustLite(t, d, "rename", "snap-c2/named", "snap-c2/clean")
	mustLite(t, d, "delete", "snap-c2/snap0")
	if l, _ := c.GetInstanceSnapshots(ctx, "snap-c2"); len(l) != 1 || l[0].Name != "clean" {
		t.Errorf("after rename and delete: %+v, want only clean", l)
	}
	mustLite(t, d, "rename", "snap-c2", "snap-c4")
	if _, err := c.GetInstance(ctx, "snap-c2"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("old name still answers: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.Dir, "containers", "snap-c4", "snapshots", "clean")); err != nil {
		t.Errorf("renamed instance's snapshot files: %v", err)
	}
	mustLite(t, d, "start", "snap-c4")
	waitRunning(t, d, "snap-c4")
	if got := mustLite(t, d, "exec", "snap-c4", "--", "cat", "/etc/hostname"); strings.TrimSpace(got) != "snap-c4" {
		t.Errorf("hostname after rename: %q (rename template)", got)
	}
	t.Logf("100 MB in the writable layer: snapshot %s, restore (running) %s, copy (running) %s",
		snapTime.Round(time.Millisecond), restoreTime.Round(time.Millisecond), copyTime.Round(time.Millisecond))
}

// TestSnapshotBadInput checks refusals: each is a clear error and changes nothing.
func TestSnapshotBadInput(t *testing.T) {
	ctx := t.Context()
	d := sharedDaemon(t)
	c := d.Client(t)
	deleteOnCleanup(t, d, "snapbad-a", "snapbad-b")
	mustLite(t, d, "init", "debian/12", "snapbad-a")
	mustLite(t, d, "init", "debian/12", "snapbad-b")
	mustLite(t, d, "snapshot", "snapbad-a", "s0")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"snapshot", "snapbad-a", "a/b"}, "must not contain \"/\""},
		{[]string{"snapshot", "snapbad-a", ".."}, "invalid snapshot name"},
		{[]string{"snapshot", "snapbad-a", "s0"}, "already exists"},
		{[]string{"snapshot", "nosuch"}, "not found"},
		{[]string{"restore", "snapbad-a", "missing"}, "not found"},
		{[]string{"delete", "snapbad-a/missing"}, "not found"},
		{[]string{"rename", "snapbad-a/s0", "snapbad-a/x/y"}, "must not contain"},
		{[]string{"rename", "snapbad-a/s0", "snapbad-b/s0"}, "cannot move"},
		{[]string{"rename", "snapbad-a/missing", "snapbad-a/x"}, "not found"},
		{[]string{"copy", "snapbad-a", "snapbad-b"}, "already exists"},
		{[]string{"copy", "snapbad-a/missing", "snapbad-c"}, "not found"},
		{[]string{"copy", "nosuch", "snapbad-c"}, "not found"},
		{[]string{"rename", "snapbad-a", "snapbad-b"}, "already exists"},
		{[]string{"rename", "snapbad-a", "bad_name"}, "invalid instance name"},
	} {
		_, stderr, code := d.Lite(tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("lite %s: exit %d, stderr %q; want one line with %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
	op, err := c.CreateInstanceSnapshot(ctx, "snapbad-a", api.InstanceSnapshotsPost{Name: "x/y"})
	if err == nil {
		err = op.Wait(context.Background())
	}
	if !errors.Is(err, api.ErrInvalid) {
		t.Errorf("API snapshot name with /: %v, want invalid", err)
	}
	if l, _ := c.GetInstanceSnapshots(ctx, "snapbad-a"); len(l) != 1 {
		t.Errorf("snapshots after refusals: %+v, want only s0", l)
	}
	if names, _ := d.instanceNames(); strings.Contains(strings.Join(names, ","), "snapbad-c") {
		t.Errorf("a refused copy left an instance: %v", names)
	}
	if _, err := os.Stat(filepath.Join(d.Dir, "containers", "snapbad-c")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused copy left a directory: %v", err)
	}
}

// TestSnapshotCrashLeftovers plants what a lited killed mid-snapshot, mid-restore, mid-copy and
// mid-rename leaves, and checks the next start cleans or finishes each.
func TestSnapshotCrashLeftovers(t *testing.T) {
	d := startDaemon(t)
	mustLite(t, d, "init", "debian/12", "crash-a")
	mustLite(t, d, "init", "debian/12", "crash-c")
	mustLite(t, d, "snapshot", "crash-a", "kept")
	base := filepath.Join(d.Dir, "containers", "crash-a")
	for _, p := range []string{"snapshots/.tmp-half-123/upper/x", "snapshots/norow/upper/x", ".tmp-upper/x"} {
		if err := os.MkdirAll(filepath.Join(base, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A copy, an upload and an import cut short: directories without a row.
	for _, p := range []string{"crash-b/upper", ".tmp-upload-1/x", ".tmp-import-2/c/upper"} {
		if err := os.MkdirAll(filepath.Join(d.Dir, "containers", p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	d.Kill(t)
	// A copy or import cut short between its instance row and its snapshot rows.
	database, err := db.Open(context.Background(), filepath.Join(d.Dir, "lite.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := database.SetInstanceConfig(context.Background(), "crash-c", map[string]string{"volatile.lite.creating": "true"}); err != nil {
		t.Fatal(err)
	}
	if err := database.Close(); err != nil {
		t.Fatal(err)
	}
	// A rename cut short after the directory moved but before the row did.
	if err := os.WriteFile(filepath.Join(d.Dir, "containers", ".rename-crash-a"), []byte("crash-z"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(base, filepath.Join(d.Dir, "containers", "crash-z")); err != nil {
		t.Fatal(err)
	}
	d.Restart(t)
	entries, _ := os.ReadDir(filepath.Join(base, "snapshots"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "kept" {
		t.Errorf("snapshot dirs after restart: %v, want only kept", names)
	}
	for _, p := range []string{filepath.Join(base, ".tmp-upper"), filepath.Join(d.Dir, "containers", "crash-b"), filepath.Join(d.Dir, "containers", ".tmp-upload-1"), filepath.Join(d.Dir, "containers", ".tmp-import-2"), filepath.Join(d.Dir, "containers", "crash-z"), filepath.Join(d.Dir, "containers", ".rename-crash-a")} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived the restart (%v)", p, err)
		}
	}
	if names, _ := d.instanceNames(); strings.Join(names, ",") != "crash-a" {
		t.Errorf("instances after restart: %v, want only crash-a (crash-c was unfinished)", names)
	}
	if _, err := os.Stat(filepath.Join(d.Dir, "containers", "crash-c")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("files of the unfinished crash-c survived: %v", err)
	}
	mustLite(t, d, "start", "crash-a")
	mustLite(t, d, "delete", "--force", "crash-a")
}
