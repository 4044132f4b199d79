package test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// builtinRemotes are lite's built-in remotes (LXD's): no test may contact them.
var builtinRemotes = []string{"ubuntu", "ubuntu-daily", "images"}

// offlineRemotes points every lite command of the run at a config whose built-in remotes
// answer from a server on 127.0.0.1 that has no image (404), so `lite launch ubuntu` and the
// like never reach cloud-images.ubuntu.com or images.lxd.canonical.com. It returns the stop.
func offlineRemotes() (func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.NotFoundHandler()}
	go func() { _ = srv.Serve(ln) }()
	// Under the run's work dir, which the run removes at its end.
	dir := filepath.Join(workDir, "conf")
	stop := func() { srv.Close() }
	if err := os.Mkdir(dir, 0o700); err != nil {
		stop()
		return nil, err
	}
	if err := writeRemotes(dir, "http://"+ln.Addr().String()); err != nil {
		stop()
		return nil, err
	}
	os.Setenv("LITE_CONF", dir)
	return stop, nil
}

// writeRemotes writes a lite config into dir with the built-in remotes at url.
func writeRemotes(dir, url string) error {
	var b strings.Builder
	b.WriteString("remotes:\n")
	for _, n := range builtinRemotes {
		fmt.Fprintf(&b, "  %s: {addr: %q, protocol: simplestreams}\n", n, url)
	}
	return os.WriteFile(filepath.Join(dir, "config.yml"), []byte(b.String()), 0o600)
}

// isolatedRemotes gives the test a config of its own (LITE_CONF), its built-in remotes on
// the run's offline stand-in.
func isolatedRemotes(t *testing.T) {
	t.Helper()
	shared, err := os.ReadFile(filepath.Join(os.Getenv("LITE_CONF"), "config.yml"))
	if err != nil {
		t.Fatalf("the run's offline remote config: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), shared, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LITE_CONF", dir)
}
