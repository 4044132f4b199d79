package test

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"lite/client/api"
	"lite/client/trust"
)

// freePort returns a loopback TCP port nothing listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// laptop is a lite CLI with its own config dir whose default daemon is d.
type laptop struct {
	d    *Daemon
	conf string
}

func (l laptop) run(args ...string) (string, string, int) {
	return runLite([]string{"LITE_DIR=" + l.d.Dir, "LITE_CONF=" + l.conf}, liteTimeout, nil, args...)
}

func (l laptop) must(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, code := l.run(args...)
	if code != 0 {
		t.Fatalf("lite %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, stderr)
	}
	return out
}

// newToken asks host for a join token for name and returns it.
func newToken(t *testing.T, host *Daemon, name string) string {
	t.Helper()
	out := mustLite(t, host, "config", "trust", "add", name)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	tok := lines[len(lines)-1]
	if _, err := trust.DecodeToken(tok); err != nil {
		t.Fatalf("trust add printed no token: %v\n%s", err, out)
	}
	return tok
}

// untrustedDo does one request with a fresh, untrusted client certificate.
func untrustedDo(t *testing.T, method, url string) (int, api.Response) {
	t.Helper()
	dir := t.TempDir()
	cert, err := trust.KeyPair(filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key"), "stranger")
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true}}}
	req, _ := http.NewRequest(method, url, strings.NewReader(`{"config":{}}`))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var env api.Response
	_ = json.NewDecoder(resp.Body).Decode(&env)
	return resp.StatusCode, env
}

func TestRemotesHTTPS(t *testing.T) {
	local := sharedDaemon(t)
	host2 := startDaemon(t)
	addr := "127.0.0.1:" + freePort(t)
	checkServerConfig(t, host2, addr)
	checkUntrusted(t, host2, addr)
	lap, pinned := checkJoin(t, local, host2)
	checkRemoteUse(t, lap, host2, addr)
	checkPinning(t, lap, pinned)
	// Removing the certificate refuses the laptop at once.
	mustLite(t, host2, "config", "trust", "remove", "laptop")
	_, stderr, code := lap.run("list", "host2:")
	oneLineError(t, "removed certificate", stderr, code, "not trusted|forbidden")
}

// checkServerConfig sets core.https_address on host: validated from the table, stored, shown.
func checkServerConfig(t *testing.T, host2 *Daemon, addr string) {
	// Server config: validated from the table, stored, shown.
	for _, bad := range [][]string{{"core.https_address", "nonsense"}, {"core.https_address", "127.0.0.1:99999"}, {"core.bogus", "1"}} {
		_, stderr, code := host2.Lite(append([]string{"config", "set"}, bad...)...)
		oneLineError(t, "config set "+strings.Join(bad, " "), stderr, code, "core\\.")
	}
	if got := strings.TrimSpace(mustLite(t, host2, "config", "get", "core.https_address")); got != "" {
		t.Fatalf("a refused config set left core.https_address = %q", got)
	}
	mustLite(t, host2, "config", "set", "core.https_address", addr)
	if got := strings.TrimSpace(mustLite(t, host2, "config", "get", "core.https_address")); got != addr {
		t.Fatalf("config get core.https_address = %q, want %q", got, addr)
	}
	if show := mustLite(t, host2, "config", "show"); !strings.Contains(show, addr) {
		t.Fatalf("config show lacks the address:\n%s", show)
	}
	st, err := os.Stat(filepath.Join(host2.Dir, "server.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("server.key: %v, mode %v; want 0600", err, st)
	}

}

// checkUntrusted: GET /1.0 says untrusted, everything else is 403 and changes nothing;
// TLS 1.2 is refused.
func checkUntrusted(t *testing.T, host2 *Daemon, addr string) {
	base := "https://" + addr
	// Untrusted clients: GET /1.0 says untrusted, everything else is 403 and changes nothing.
	code, env := untrustedDo(t, "GET", base+"/1.0")
	var srv api.Server
	_ = json.Unmarshal(env.Metadata, &srv)
	if code != 200 || srv.Auth != "untrusted" {
		t.Fatalf("untrusted GET /1.0: %d auth %q", code, srv.Auth)
	}
	for _, req := range [][2]string{{"GET", "/1.0/instances"}, {"PUT", "/1.0"}, {"GET", "/1.0/certificates"}, {"DELETE", "/1.0/images/x"}} {
		if code, _ := untrustedDo(t, req[0], base+req[1]); code != http.StatusForbidden {
			t.Errorf("untrusted %s %s: %d, want 403", req[0], req[1], code)
		}
	}
	if got := strings.TrimSpace(mustLite(t, host2, "config", "get", "core.https_address")); got != addr {
		t.Fatalf("untrusted PUT changed the config to %q", got)
	}
	// TLS 1.2 is refused.
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
	if err == nil {
		conn.Close()
		t.Fatal("a TLS 1.2 handshake succeeded")
	}

}

// checkJoin joins a laptop with a token and checks reused, forged, garbage and expired
// tokens fail and add nothing. It returns the laptop and host2's pinned fingerprint.
func checkJoin(t *testing.T, local, host2 *Daemon) (laptop, string) {
	// Join with a token; the token works once.
	lap := laptop{d: local, conf: t.TempDir()}
	tok := newToken(t, host2, "laptop")
	lap.must(t, "remote", "add", "host2", tok)
	if st, err := os.Stat(filepath.Join(lap.conf, "client.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("client.key: %v %v; want 0600", err, st)
	}
	other := laptop{d: local, conf: t.TempDir()}
	_, stderr, code := other.run("remote", "add", "host2", tok)
	oneLineError(t, "reused token", stderr, code, "already used|unknown")
	forged, _ := trust.DecodeToken(tok)
	forged.Secret = strings.Repeat("0", 64)
	ftok, _ := trust.EncodeToken(*forged)
	_, stderr, code = other.run("remote", "add", "host2", ftok)
	oneLineError(t, "forged token", stderr, code, "unknown|revoked")
	_, stderr, code = other.run("remote", "add", "host2", "not-a-token")
	oneLineError(t, "garbage token", stderr, code, "token")
	// An expired token fails.
	mustLite(t, host2, "config", "set", "core.remote_token_expiry", "1s")
	etok := newToken(t, host2, "late")
	dec, _ := trust.DecodeToken(etok)
	exp, _ := time.Parse(time.RFC3339, dec.ExpiresAt)
	eventually(t, 30*time.Second, "token expiry", func() (bool, string) { return time.Now().After(exp.Add(time.Second)), "" })
	_, stderr, code = other.run("remote", "add", "host2", etok)
	oneLineError(t, "expired token", stderr, code, "expired|unknown")
	trusted := mustLite(t, host2, "config", "trust", "list", "--format", "csv")
	if strings.Count(trusted, "\n") != 1 || !strings.HasPrefix(trusted, "laptop,") {
		t.Fatalf("trust list after refused joins:\n%s", trusted)
	}

	return lap, forged.Fingerprint
}

// checkRemoteUse drives host2 from the laptop while 100 half-open connections are open,
// then checks the server closed them.
func checkRemoteUse(t *testing.T, lap laptop, host2 *Daemon, addr string) {
	// The trusted laptop uses host2; many half-open untrusted connections do not stop it.
	var idle []net.Conn
	for i := 0; i < 100; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		idle = append(idle, c)
	}
	t.Cleanup(func() {
		for _, c := range idle {
			c.Close()
		}
	})
	lap.must(t, "list", "host2:")
	_, stderr, code := lap.run("list", "typo:")
	oneLineError(t, "list of an unknown remote", stderr, code, `remote "typo" not found`)
	if !strings.Contains(lap.must(t, "network", "list", "host2:", "--format", "csv"), host2.Net) {
		t.Fatalf("network list host2: lacks host2's network %s", host2.Net)
	}
	if strings.Contains(lap.must(t, "network", "list", "--format", "csv"), host2.Net) {
		t.Fatalf("the local network list shows host2's network %s", host2.Net)
	}
	lap.must(t, "network", "show", "host2:"+host2.Net)
	lap.must(t, "launch", "host2:debian/12", "web9")
	if out := strings.TrimSpace(lap.must(t, "exec", "host2:web9", "--", "hostname")); out != "web9" {
		t.Fatalf("exec host2:web9 hostname = %q", out)
	}
	if !strings.Contains(lap.must(t, "list", "host2:", "--format", "csv", "-c", "n"), "web9") {
		t.Fatal("list host2: lacks web9")
	}
	if strings.Contains(lap.must(t, "list", "--format", "csv", "-c", "n"), "web9") {
		t.Fatal("web9 shows up on the local daemon")
	}

	// The half-open connections were closed by the server (the handshake has a deadline).
	for i, c := range idle {
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("half-open connection %d still open after a minute (read: %v)", i, err)
		}
	}

}

// checkPinning: a changed server certificate is refused.
func checkPinning(t *testing.T, lap laptop, pinned string) {
	// A changed server certificate is refused.
	cfgPath := filepath.Join(lap.conf, "config.yml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(string(b), pinned, strings.Repeat("a", 64), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := lap.run("list", "host2:")
	oneLineError(t, "changed certificate", stderr, code, "changed")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	lap.must(t, "list", "host2:")
}

// TestRemotesLXDClient adds a lited to LXD's own lxc client with a token and lists it.
func TestRemotesLXDClient(t *testing.T) {
	host2 := startDaemon(t)
	addr := "127.0.0.1:" + freePort(t)
	mustLite(t, host2, "config", "set", "core.https_address", addr)
	conf := t.TempDir()
	if err := os.WriteFile(filepath.Join(conf, "config.yml"), []byte("default-remote: local\nremotes:\n  local:\n    addr: unix://\n    public: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lxc := func(args ...string) (string, error) {
		cmd := exec.Command("lxc", args...)
		cmd.Env = append(os.Environ(), "LXD_CONF="+conf, "HOME="+conf)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	tok := newToken(t, host2, "lxc")
	if out, err := lxc("remote", "add", "lite2", tok); err != nil {
		t.Fatalf("lxc remote add: %v\n%s", err, out)
	}
	out, err := lxc("list", "lite2:", "--format", "csv")
	if err != nil {
		t.Fatalf("lxc list lite2: %v\n%s", err, out)
	}
	if list := mustLite(t, host2, "config", "trust", "list", "--format", "csv"); !strings.HasPrefix(list, "lxc,") {
		t.Fatalf("trust list after lxc joined:\n%s", list)
	}
	mustLite(t, host2, "config", "trust", "remove", "lxc")
	if out, err := lxc("list", "lite2:"); err == nil {
		t.Fatalf("lxc list after trust remove succeeded:\n%s", out)
	}
}
