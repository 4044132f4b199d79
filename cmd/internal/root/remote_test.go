package root

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
)

// TestLaunchThroughTheRealClient drives lite launch through the real client package against a
// minimal daemon on a unix socket: no events stream (so waits use /wait), a create operation
// that finishes on the first wait, and a start operation that is final at once.
func TestLaunchThroughTheRealClient(t *testing.T) {
	dir, err := os.MkdirTemp("", "lite")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	socket := filepath.Join(dir, "unix.socket")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	reply := func(w http.ResponseWriter, status int, typ api.ResponseType, md any) {
		raw, _ := json.Marshal(md)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(api.Response{Type: typ, Metadata: raw})
	}
	var created api.InstancesPost
	var started api.InstanceStatePut
	mux := http.NewServeMux()
	mux.HandleFunc("GET /1.0/events", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	})
	mux.HandleFunc("POST /1.0/instances", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&created)
		reply(w, http.StatusAccepted, api.AsyncResponse, api.Operation{ID: "create", StatusCode: api.Running})
	})
	mux.HandleFunc("GET /1.0/operations/create/wait", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, api.SyncResponse, api.Operation{ID: "create", StatusCode: api.Success,
			Resources: map[string][]string{"instances": {"/1.0/instances/happy-cat"}}})
	})
	mux.HandleFunc("PUT /1.0/instances/happy-cat/state", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&started)
		reply(w, http.StatusAccepted, api.AsyncResponse, api.Operation{ID: "start", StatusCode: api.Success})
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	ios, stdout, stderr := cli.TestIO("")
	code := Main(context.Background(), []string{"--socket", socket, "launch", "debian/12"}, ios, client.Connect)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if stdout.String() != "Creating the instance\nInstance name is: happy-cat\nStarting happy-cat\n" {
		t.Errorf("stdout = %q", stdout.String())
	}
	if created.Source.Alias != "debian/12" || created.Source.Type != "image" || started.Action != "start" || started.Timeout != -1 {
		t.Errorf("requests: create %+v, start %+v", created, started)
	}
}
