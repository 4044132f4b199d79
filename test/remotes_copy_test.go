package test

import (
	"bytes"
	"strings"
	"testing"
)

// joinedLaptop serves host on HTTPS on a free loopback port and returns a lite CLI (its
// default daemon local) that trusts it as remote "host2".
func joinedLaptop(t *testing.T, local, host *Daemon) laptop {
	t.Helper()
	mustLite(t, host, "config", "set", "core.https_address", "127.0.0.1:"+freePort(t))
	lap := laptop{d: local, conf: t.TempDir()}
	lap.must(t, "remote", "add", "host2", newToken(t, host, "laptop"))
	return lap
}

// snapshotsOf returns the SNAPSHOTS column of `lite list` for name on ref's server.
func snapshotsOf(t *testing.T, lap laptop, server, name string) string {
	t.Helper()
	for _, line := range strings.Split(lap.must(t, "list", server, "--format", "csv", "-c", "nS"), "\n") {
		if n, count, ok := strings.Cut(line, ","); ok && n == name {
			return count
		}
	}
	t.Fatalf("%s is not listed on %q", name, server)
	return ""
}

func TestRemotesCopyMove(t *testing.T) {
	ctx := t.Context()
	local := sharedDaemon(t)
	host2 := startDaemon(t)
	lap := joinedLaptop(t, local, host2)
	deleteOnCleanup(t, local, "xfer1")

	lap.must(t, "launch", "debian/12", "xfer1")
	// A file changed, one deleted (a whiteout) and an image directory replaced (an opaque
	// one): all must come out the same on the other side of a layers-only stream.
	lap.must(t, "exec", "xfer1", "--", "sh", "-c", "echo copied-$(hostname) > /root/marker && rm /etc/motd && "+
		"rm -rf /usr/share/doc/bash && mkdir /usr/share/doc/bash && echo new > /usr/share/doc/bash/only")
	lap.must(t, "stop", "xfer1")
	want, err := local.Client(t).GetImageAlias(ctx, "debian/12")
	if err != nil {
		t.Fatal(err)
	}
	thin := checkThinExport(t, local, host2, "xfer1")
	lap.must(t, "snapshot", "xfer1", "snap0")

	// Copy with snapshots onto a host without the image: the image goes first, then the
	// layers; the copy boots on host2 with the same files.
	lap.must(t, "copy", "xfer1", "host2:cp1")
	if _, err := host2.Client(t).GetImage(ctx, want.Target); err != nil {
		t.Fatalf("the copy did not bring image %s to host2: %v", want.Target, err)
	}
	if got := snapshotsOf(t, lap, "host2:", "cp1"); got != "1" {
		t.Fatalf("cp1 on host2 has %q snapshots, want 1", got)
	}
	lap.must(t, "start", "host2:cp1")
	waitRunning(t, host2, "cp1")
	got := lap.must(t, "exec", "host2:cp1", "--", "sh", "-c", "cat /root/marker; ls /usr/share/doc/bash; test -e /etc/motd || echo no-motd")
	if got != "copied-xfer1\nonly\nno-motd\n" {
		t.Fatalf("host2:cp1 has marker, doc/bash, motd = %q", got)
	}

	// The image is on host2 now: a copy only adds the alias.
	lap.must(t, "image", "copy", "debian/12", "host2:", "--alias", "deb-a")
	lap.must(t, "image", "copy", "debian/12", "host2:", "--alias", "deb-b")
	for _, a := range []string{"deb-a", "deb-b"} {
		got, err := host2.Client(t).GetImageAlias(ctx, a)
		if err != nil || got.Target != want.Target {
			t.Fatalf("alias %s on host2: %+v, %v; want target %s", a, got, err, want.Target)
		}
	}
	_, stderr, code := lap.run("image", "copy", "no-such-image", "host2:")
	oneLineError(t, "image copy of a missing image", stderr, code, "not found")
	// host2 takes the layers-only stream now that it holds the image.
	op, err := host2.Client(t).ImportInstance(ctx, bytes.NewReader(thin), "thin1")
	if err == nil {
		err = op.Wait(ctx)
	}
	if err != nil {
		t.Fatalf("host2 refused a layers-only stream on an image it has: %v", err)
	}
	deleteOnCleanup(t, host2, "thin1")

	lap.must(t, "copy", "xfer1", "host2:cp2", "--instance-only")
	if got := snapshotsOf(t, lap, "host2:", "cp2"); got != "0" {
		t.Fatalf("cp2 (--instance-only) has %q snapshots, want 0", got)
	}
	// Snapshots, instance config and image lists take the remote too.
	lap.must(t, "snapshot", "host2:cp2", "extra")
	if got := snapshotsOf(t, lap, "host2:", "cp2"); got != "1" {
		t.Fatalf("cp2 after snapshot host2:cp2 has %q snapshots, want 1", got)
	}
	lap.must(t, "config", "set", "host2:cp2", "user.where=host2")
	if got := strings.TrimSpace(lap.must(t, "config", "get", "host2:cp2", "user.where")); got != "host2" {
		t.Fatalf("config get host2:cp2 user.where = %q", got)
	}
	if !strings.Contains(lap.must(t, "image", "list", "host2:"), "deb-a") {
		t.Fatal("image list host2: lacks deb-a")
	}

	// A taken name on the target is refused and the target keeps what it had.
	_, stderr, code = lap.run("copy", "xfer1", "host2:cp1")
	oneLineError(t, "copy onto an existing name", stderr, code, "already exists")

	// A running instance is not moved without --stateless; nothing changes on either side.
	lap.must(t, "start", "xfer1")
	_, stderr, code = lap.run("move", "xfer1", "host2:mv1")
	oneLineError(t, "move of a running instance", stderr, code, "running.*--stateless")
	if status(t, local, "xfer1") != "RUNNING" || strings.Contains(lap.must(t, "list", "host2:", "--format", "csv", "-c", "n"), "mv1") {
		t.Fatal("a refused move changed something")
	}
	lap.must(t, "move", "xfer1", "host2:mv1", "--stateless")
	if status(t, local, "xfer1") != "" {
		t.Fatal("xfer1 is still on the source after the move")
	}
	waitRunning(t, host2, "mv1")
	if got := strings.TrimSpace(lap.must(t, "exec", "host2:mv1", "--", "cat", "/root/marker")); got != "copied-xfer1" {
		t.Fatalf("/root/marker in host2:mv1 = %q", got)
	}
	if got := snapshotsOf(t, lap, "host2:", "mv1"); got != "1" {
		t.Fatalf("mv1 has %q snapshots, want 1", got)
	}
	checkRemoteCommands(t, lap)
	checkImageCopyFromMirror(t, lap, local, host2)
	checkAddByURL(t, local, host2)
}

// checkThinExport checks that a layers-only export of name (stopped) on d is far smaller than
// the full one, and that target, which lacks the image, refuses it clearly and keeps nothing.
// It returns the layers-only export.
func checkThinExport(t *testing.T, d, target *Daemon, name string) []byte {
	t.Helper()
	ctx := t.Context()
	var full countWriter
	if err := d.Client(t).ExportInstance(ctx, name, false, &full); err != nil {
		t.Fatal(err)
	}
	var thin bytes.Buffer
	if err := d.Client(t).ExportInstanceLayers(ctx, name, false, &thin); err != nil {
		t.Fatal(err)
	}
	t.Logf("export of %s: full %d bytes, writable layers only %d bytes", name, int64(full), thin.Len())
	if int64(thin.Len())*5 > int64(full) {
		t.Fatalf("layers-only export is %d bytes, full %d: not much smaller", thin.Len(), int64(full))
	}
	op, err := target.Client(t).ImportInstance(ctx, bytes.NewReader(thin.Bytes()), "thin0")
	if err == nil {
		err = op.Wait(ctx)
	}
	if err == nil || !strings.Contains(err.Error(), "copy the image here first") {
		t.Fatalf("a target without the image took a layers-only stream: %v", err)
	}
	if _, err := target.Client(t).GetInstance(ctx, "thin0"); err == nil {
		t.Fatal("the refused import left an instance")
	}
	return thin.Bytes()
}

// countWriter counts what is written to it.
type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
