package daemon

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"lite/lxd-lite/cluster"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func TestHTTPSListener(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, certPEM, err := newHTTPSListener(dir, cluster.New(dir, nil, log), log)
	if err != nil || certPEM == "" {
		t.Fatalf("newHTTPSListener: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "server.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("server.key: %v %v", st, err)
	}
	h.handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	flagAddr, cfgAddr := freeAddr(t), freeAddr(t)
	h.fallback = flagAddr // lited --https
	defer h.Close(t.Context())
	if err := h.Set(""); err != nil {
		t.Fatal(err)
	}
	dial := func(addr string, maxVersion uint16) error {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: maxVersion})
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(flagAddr, 0); err != nil {
		t.Fatalf("--https address not served: %v", err)
	}
	if err := dial(flagAddr, tls.VersionTLS12); err == nil {
		t.Fatal("TLS 1.2 accepted")
	}
	// core.https_address wins over the flag while set; the old address stops.
	if err := h.Set(cfgAddr); err != nil {
		t.Fatal(err)
	}
	if err := dial(cfgAddr, 0); err != nil {
		t.Fatalf("core.https_address not served: %v", err)
	}
	if got := h.Addresses(); len(got) != 1 || got[0] != cfgAddr {
		t.Fatalf("Addresses = %v", got)
	}
	// An address that cannot be bound is an error and keeps the current one.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if err := h.Set(busy.Addr().String()); err == nil {
		t.Fatal("binding a busy address succeeded")
	}
	if err := dial(cfgAddr, 0); err != nil {
		t.Fatalf("a failed rebind dropped the old address: %v", err)
	}
}
