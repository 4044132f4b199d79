package cluster

import (
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"lite/client/api"
	"lite/client/trust"
	"lite/db"
)

// testMember is a Service on its own state dir with a SQLite database, its server key
// pair, and an HTTPS endpoint serving the accept call (what lited's API does for it).
type testMember struct {
	svc    *Service
	db     *db.DB
	dir    string
	https  string // HOST:PORT
	dbAddr string
}

// freePort returns a free TCP address on 127.0.0.1.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newTestMember(t *testing.T) *testMember {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, d, err := Open(context.Background(), dir, filepath.Join(dir, "lite.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := trust.KeyPair(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), "test")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /internal/cluster/accept", func(w http.ResponseWriter, r *http.Request) {
		var req api.ClusterJoinRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := svc.Accept(r.Context(), req)
		env := api.Response{Type: api.SyncResponse, Status: "Success", StatusCode: 200}
		code := http.StatusOK
		if err != nil {
			code = api.StatusFor(err)
			env = api.Response{Type: api.ErrorResponse, Error: api.Message(err), ErrorCode: code, ErrorKind: api.KindName(err)}
		} else {
			env.Metadata, _ = json.Marshal(resp)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(env)
	})
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{MinVersion: tls.VersionTLS13, ClientAuth: tls.RequestClientCert,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c, _ := svc.Certificate(); c != nil {
				return c, nil
			}
			return &pair, nil
		}}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	m := &testMember{svc: svc, db: d, dir: dir, https: ln.Addr().String(), dbAddr: freePort(t)}
	t.Cleanup(func() {
		_ = srv.Close()
		_ = m.db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := m.svc.Close(ctx); err != nil {
			t.Errorf("close member: %v", err)
		}
	})
	return m
}

func (m *testMember) enable(t *testing.T, name string) {
	t.Helper()
	if err := m.svc.Enable(context.Background(), EnableOptions{Name: name, HTTPSAddress: m.https, DBAddress: m.dbAddr}); err != nil {
		t.Fatalf("enable %s: %v", name, err)
	}
}

func (m *testMember) join(name, token string) error {
	return m.svc.Join(context.Background(), JoinOptions{Name: name, Token: token, HTTPSAddress: m.https, DBAddress: m.dbAddr})
}

func (m *testMember) token(t *testing.T, name string) string {
	t.Helper()
	tok, err := m.svc.CreateToken(context.Background(), name, time.Minute)
	if err != nil {
		t.Fatalf("token for %s: %v", name, err)
	}
	s, err := trust.EncodeClusterToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dump renders every table's rows as sorted text, so two databases (SQLite, dqlite) can
// be compared whatever their drivers' types.
func dump(t *testing.T, d *db.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := d.Tx(context.Background(), func(tx *sql.Tx) error {
		tables, err := db.Tables(context.Background(), tx)
		if err != nil {
			return err
		}
		for _, table := range tables {
			cols, rows, err := db.ReadTable(context.Background(), tx, table)
			if err != nil {
				return err
			}
			for _, r := range rows {
				var b strings.Builder
				for i, v := range r {
					fmt.Fprintf(&b, "%s=%s ", cols[i], normalize(v))
				}
				out[table] = append(out[table], b.String())
			}
			slices.Sort(out[table])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func normalize(v any) string {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(x)
	case bool:
		if x {
			return "1"
		}
		return "0"
	}
	return fmt.Sprint(v)
}

// fill puts a row in every table lited's users can fill.
func fill(t *testing.T, d *db.DB) {
	t.Helper()
	ctx := context.Background()
	inst := db.Instance{Name: "web1", Type: "container", Architecture: "x86_64", Description: "é \"quoted\"",
		Config: map[string]string{"user.a": "1", "environment.SECRET": "x\ny"}, Devices: map[string]map[string]string{"eth0": {"type": "nic", "network": "litebr0"}},
		Profiles: []string{"default"}, CreatedAt: time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC), LastUsedAt: time.Unix(0, 0)}
	if _, err := d.CreateInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}
	inst.Name = "db1"
	if _, err := d.CreateInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateSnapshot(ctx, db.Snapshot{Instance: "web1", Name: "s0", Config: map[string]string{}, Devices: map[string]map[string]string{},
		Profiles: []string{"default"}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetConfig(ctx, "core.https_address", "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetConfig(ctx, "images.auto_update_interval", "6"); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateCertificate(ctx, api.Certificate{CertificatePut: api.CertificatePut{Name: "laptop", Type: "client", Certificate: "PEM"}, Fingerprint: strings.Repeat("ab", 32)}); err != nil {
		t.Fatal(err)
	}
}
