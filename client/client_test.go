package client

import (
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"lite/client/api"
)

func TestDefaultSocket(t *testing.T) {
	t.Setenv("LITE_DIR", "/tmp/x")
	if got := DefaultSocket(); got != "/tmp/x/unix.socket" {
		t.Errorf("DefaultSocket() with LITE_DIR = %q", got)
	}
	t.Setenv("LITE_DIR", "")
	if got := DefaultSocket(); got != "/var/lib/lite/unix.socket" {
		t.Errorf("DefaultSocket() without LITE_DIR = %q", got)
	}
}

func TestConnectExplainsMissingDaemon(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "unix.socket")
	_, err := Connect(socket)
	if err == nil {
		t.Fatal("Connect to a missing socket succeeded")
	}
	want := "cannot reach lited at " + socket + `: is it running? start it with "lited"`
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "--socket") {
		t.Errorf("error = %q, want it to start with %q and mention --socket", err, want)
	}
	if !errors.Is(err, api.ErrUnavailable) {
		t.Errorf("error %v is not api.ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans several lines: %q", err)
	}
}

func TestConnectRefused(t *testing.T) {
	// A socket file that nobody listens on any more: the connection is refused.
	dir, err := os.MkdirTemp("", "litec")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	socket := filepath.Join(dir, "unix.socket")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	_ = ln.Close()
	_, err = Connect(socket)
	if err == nil || !strings.Contains(err.Error(), "is it running?") || !errors.Is(err, api.ErrUnavailable) {
		t.Errorf("Connect to a dead socket: err = %v", err)
	}
}

func TestGetServerDecodesEnvelope(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	d.mux.HandleFunc("GET /1.0", func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "unix.socket" {
			t.Errorf("Host = %q, want unix.socket", r.Host)
		}
		writeSync(w, api.Server{APIVersion: "1.0", Auth: "trusted",
			Environment: api.ServerEnvironment{ServerName: "box", ServerVersion: "5.0.2"}})
	})
	srv, err := d.client().GetServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if srv.APIVersion != "1.0" || srv.Environment.ServerName != "box" || srv.Environment.ServerVersion != "5.0.2" {
		t.Errorf("GetServer() = %+v", srv)
	}
}

func TestErrorRepliesKeepTheirKind(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	d.mux.HandleFunc("GET /1.0/instances/{name}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("name") {
		case "missing":
			writeError(w, http.StatusNotFound, "Instance not found")
		case "busy":
			writeError(w, http.StatusConflict, "Instance is busy")
		default:
			http.Error(w, "plain text failure", http.StatusInternalServerError)
		}
	})
	c := d.client()
	cases := []struct {
		name, msg string
		kind      error
	}{
		{"missing", "Instance not found", api.ErrNotFound},
		{"busy", "Instance is busy", api.ErrConflict},
		{"broken", "failed to fetch /1.0/instances/broken: 500 Internal Server Error", api.ErrInternal},
	}
	for _, tc := range cases {
		_, err := c.GetInstance(ctx, tc.name)
		var se *api.StatusError
		if !errors.As(err, &se) {
			t.Fatalf("GetInstance(%q) error %v is not a *api.StatusError", tc.name, err)
		}
		if err.Error() != tc.msg || !errors.Is(err, tc.kind) {
			t.Errorf("GetInstance(%q) error = %q (kind ok: %v), want %q of kind %v",
				tc.name, err, errors.Is(err, tc.kind), tc.msg, tc.kind)
		}
	}
}

func TestNamesArePercentEncoded(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	d.mux.HandleFunc("GET /1.0/images/aliases/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.EscapedPath() != "/1.0/images/aliases/debian%2F12" {
			t.Errorf("escaped path = %q", r.URL.EscapedPath())
		}
		writeSync(w, api.ImageAliasesEntry{Name: r.PathValue("name"), Target: strings.Repeat("ab", 32)})
	})
	alias, err := d.client().GetImageAlias(ctx, "debian/12")
	if err != nil {
		t.Fatal(err)
	}
	if alias.Name != "debian/12" {
		t.Errorf("alias name = %q", alias.Name)
	}
}

func TestGetInstancesAsksForFullObjects(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	d.mux.HandleFunc("GET /1.0/instances", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("recursion") != "2" || q.Get("filter") != "status eq Running" {
			t.Errorf("query = %q", r.URL.RawQuery)
		}
		writeSync(w, []api.InstanceFull{{Instance: api.Instance{Name: "c1", Status: "Running"},
			State: &api.InstanceState{Pid: 42}}})
	})
	d.mux.HandleFunc("GET /1.0/instances/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("recursion") != "1" {
			t.Errorf("GetInstance query = %q", r.URL.RawQuery)
		}
		writeSync(w, api.InstanceFull{Instance: api.Instance{Name: r.PathValue("name")}, State: &api.InstanceState{}})
	})
	c := d.client()
	list, err := c.GetInstances(ctx, "status eq Running")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "c1" || list[0].State == nil || list[0].State.Pid != 42 {
		t.Errorf("GetInstances() = %+v", list)
	}
	inst, err := c.GetInstance(ctx, "c 2")
	if err != nil {
		t.Fatal(err)
	}
	if inst.Name != "c 2" {
		t.Errorf("GetInstance name = %q", inst.Name)
	}
}

func TestSyncReplyWhereOperationExpected(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	d.mux.HandleFunc("DELETE /1.0/instances/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeSync(w, map[string]any{})
	})
	if _, err := d.client().DeleteInstance(ctx, "c1"); err == nil || !strings.Contains(err.Error(), "expected an operation") {
		t.Errorf("DeleteInstance with a sync reply: err = %v", err)
	}
}

// UseTarget adds ?target= to what creates an instance, and only on the copy it returns.
func TestUseTargetPlacesCreates(t *testing.T) {
	ctx := t.Context()
	d := newFakeDaemon(t)
	var mu sync.Mutex
	var got []string
	d.mux.HandleFunc("POST /1.0/instances", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Query().Get("target"))
		mu.Unlock()
		d.startOp(w, api.Operation{ID: "op" + strconv.Itoa(len(got)), Status: "Running", StatusCode: api.Running})
	})
	base := d.client()
	targeted := base.UseTarget("host2")
	if _, err := targeted.CreateInstance(ctx, api.InstancesPost{Name: "c1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := targeted.CopyInstance(ctx, api.InstancesPost{Name: "c2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := targeted.ImportInstance(ctx, strings.NewReader("tarball"), "c3"); err != nil {
		t.Fatal(err)
	}
	if _, err := base.CreateInstance(ctx, api.InstancesPost{Name: "c4"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"host2", "host2", "host2", ""}; !slices.Equal(got, want) {
		t.Errorf("targets = %q, want %q", got, want)
	}
}
