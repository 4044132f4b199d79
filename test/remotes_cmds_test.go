package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkRemoteCommands drives file, rename, export/import, profile, image and console
// commands at host2 through "host2:" and then through `lite remote switch host2`; host2
// holds cp1 (running), cp2 (stopped) and the image alias deb-a. A remote that does not
// exist is a clear error.
func checkRemoteCommands(t *testing.T, lap laptop) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	if err := os.WriteFile(in, []byte("pushed over https\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lap.must(t, "file", "push", in, "host2:cp1/root/pushed")
	lap.must(t, "file", "pull", "host2:cp1/root/pushed", out)
	if b, err := os.ReadFile(out); err != nil || string(b) != "pushed over https\n" {
		t.Fatalf("file pulled back from host2:cp1: %q, %v", b, err)
	}
	lap.must(t, "file", "delete", "host2:cp1/root/pushed")
	if _, _, code := lap.run("exec", "host2:cp1", "--", "test", "-e", "/root/pushed"); code == 0 {
		t.Fatal("file delete host2:cp1/root/pushed left the file")
	}
	lap.must(t, "rename", "host2:cp2", "cp3")
	if names := lap.must(t, "list", "host2:", "--format", "csv", "-c", "n"); !strings.Contains(names, "cp3") || strings.Contains(names, "cp2") {
		t.Fatalf("after rename host2:cp2 cp3, host2 lists %q", names)
	}
	backup := filepath.Join(dir, "cp3.tar")
	lap.must(t, "export", "host2:cp3", backup, "--instance-only")
	lap.must(t, "import", "host2:", backup, "cp4")
	if names := lap.must(t, "list", "host2:", "--format", "csv", "-c", "n"); !strings.Contains(names, "cp4") {
		t.Fatalf("after import host2: ... cp4, host2 lists %q", names)
	}
	lap.must(t, "profile", "create", "host2:remprof")
	lap.must(t, "profile", "set", "host2:remprof", "user.where=host2")
	if strings.Contains(lap.must(t, "profile", "list"), "remprof") || !strings.Contains(lap.must(t, "profile", "list", "host2:"), "remprof") {
		t.Fatal("profile create host2:remprof did not make the profile on host2 (only)")
	}
	if !strings.Contains(lap.must(t, "image", "info", "host2:deb-a"), "fingerprint") {
		t.Fatal("image info host2:deb-a shows no image")
	}
	lap.must(t, "console", "host2:cp1", "--show-log")
	for _, args := range [][]string{
		{"file", "pull", "nope:cp1/etc/hostname", out},
		{"rename", "nope:cp1", "cp9"},
		{"list", "nope:"},
		{"profile", "show", "nope:default"},
		{"image", "info", "nope:deb-a"},
		{"image", "import", in, "nope:"},
		{"export", "nope:cp1", out},
	} {
		_, stderr, code := lap.run(args...)
		oneLineError(t, strings.Join(args, " "), stderr, code, `remote.*"nope".*not found`)
	}

	// host2 as the default: names without a remote go there, local: reaches the daemon.
	lap.must(t, "remote", "switch", "host2")
	t.Cleanup(func() { lap.run("remote", "switch", "local") })
	if !strings.Contains(lap.must(t, "remote", "list"), "host2 (current)") {
		t.Fatal("remote list does not mark host2 current")
	}
	if names := lap.must(t, "list", "--format", "csv", "-c", "n"); !strings.Contains(names, "cp1") || !strings.Contains(names, "cp3") {
		t.Fatalf("list after remote switch host2 shows %q", names)
	}
	if strings.Contains(lap.must(t, "list", "local:", "--format", "csv", "-c", "n"), "cp3") {
		t.Fatal("list local: shows host2's instances")
	}
	lap.must(t, "file", "push", in, "cp1/root/pushed2")
	if got := lap.must(t, "exec", "cp1", "--", "cat", "/root/pushed2"); got != "pushed over https\n" {
		t.Fatalf("exec cp1 after the switch: %q", got)
	}
	if got := strings.TrimSpace(lap.must(t, "profile", "get", "remprof", "user.where")); got != "host2" {
		t.Fatalf("profile get remprof after the switch: %q", got)
	}
	lap.must(t, "image", "info", "deb-a")
	lap.must(t, "rename", "cp3", "cp2")
	lap.must(t, "remote", "switch", "local")
	if strings.Contains(lap.must(t, "list", "--format", "csv", "-c", "n"), "cp2") {
		t.Fatal("list after remote switch local still shows host2's instances")
	}
}

// checkAddByURL adds host (serving HTTPS) by its URL, with --token and with the token typed
// at the prompt; an empty answer is refused.
func checkAddByURL(t *testing.T, local, host *Daemon) {
	addr := strings.TrimSpace(mustLite(t, host, "config", "get", "core.https_address"))
	lap := laptop{d: local, conf: t.TempDir()}
	lap.must(t, "remote", "add", "byurl", "https://"+addr, "--token", newToken(t, host, "byurl"))
	env := []string{"LITE_DIR=" + local.Dir, "LITE_CONF=" + lap.conf}
	out, stderr, code := runLite(env, liteTimeout, strings.NewReader(newToken(t, host, "asked")+"\n"),
		"remote", "add", "asked", "https://"+addr, "--protocol", "lite")
	if code != 0 {
		t.Fatalf("remote add with the token asked for: exit %d: %s%s", code, out, stderr)
	}
	for _, r := range []string{"byurl:", "asked:"} {
		if !strings.Contains(lap.must(t, "list", r, "--format", "csv", "-c", "n"), "cp1") {
			t.Fatalf("list %s does not show host2's cp1", r)
		}
	}
	_, stderr, code = runLite(env, liteTimeout, strings.NewReader(""), "remote", "add", "empty", "https://"+addr, "--protocol", "lite")
	oneLineError(t, "remote add with no token typed", stderr, code, "no join token")
}

// checkImageCopyFromMirror: `lite image copy MIRROR:IMAGE host2:` makes host2 pull the image
// from the image server itself (as lxc does), instead of looking for MIRROR:IMAGE on the
// laptop's default daemon.
func checkImageCopyFromMirror(t *testing.T, lap laptop, local, host2 *Daemon) {
	t.Helper()
	base := exportBase(t, local)
	url := serveImage(t, base, "mirrortest/12")
	lap.must(t, "remote", "add", "mirror", url, "--protocol", "simplestreams")
	lap.must(t, "image", "copy", "mirror:mirrortest/12", "host2:", "--alias", "from-mirror")
	if _, err := host2.Client(t).GetImageAlias(t.Context(), "from-mirror"); err != nil {
		t.Fatalf("image copy mirror:mirrortest/12 host2: left no alias from-mirror on host2: %v", err)
	}
	if _, err := local.Client(t).GetImageAlias(t.Context(), "from-mirror"); err == nil {
		t.Fatal("image copy mirror:... host2: made the alias on the laptop's daemon too")
	}
}
