package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/cli/clitest"
)

// server is a fake daemon that records the JSON bodies it gets and answers every write with
// an operation ending as final (success unless the test sets a failure).
type server struct {
	*clitest.Server
	mu     sync.Mutex
	bodies []string
	final  api.Operation
}

func newServer(t *testing.T, routes ...string) (*server, *cli.IOStreams, func() (Client, error)) {
	s := &server{Server: clitest.NewServer(t)}
	for _, r := range routes {
		s.Mux.HandleFunc(r, func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			s.mu.Lock()
			s.bodies = append(s.bodies, strings.TrimSpace(string(b)))
			final := s.final
			s.mu.Unlock()
			s.Async(w, final)
		})
	}
	c := s.Client(t)
	ios, _, _ := cli.TestIO("")
	return s, ios, func() (Client, error) { return c, nil }
}

func (s *server) body() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.bodies, "\n")
}

func TestSnapshotTakesAndWaits(t *testing.T) {
	s, ios, c := newServer(t, "POST /1.0/instances/{name}/snapshots")
	if err := RunSnapshot(t.Context(), &SnapshotOptions{IO: ios, Client: c, Name: "c1", Snapshot: "before", Reuse: true}); err != nil {
		t.Fatal(err)
	}
	if s.CallLog() != "POST /1.0/instances/c1/snapshots" || s.body() != `{"name":"before","stateful":false,"reuse":true}` {
		t.Errorf("calls %q, body %s", s.CallLog(), s.body())
	}
	s.final = api.Operation{StatusCode: api.Failure, Err: "Snapshot \"before\" already exists"}
	err := RunSnapshot(t.Context(), &SnapshotOptions{IO: ios, Client: c, Name: "c1", Snapshot: "before"})
	if err == nil || err.Error() != `Snapshot "before" already exists` {
		t.Errorf("failed snapshot: %v, want the operation's error", err)
	}
}

// TestSnapshotNamesCheckedFirst: a bad snapshot name on the command line is refused before
// any request.
func TestSnapshotNamesCheckedFirst(t *testing.T) {
	s, ios, c := newServer(t, "POST /1.0/instances/{name}/snapshots", "PUT /1.0/instances/{name}", "POST /1.0/instances/{name}",
		"POST /1.0/instances/{name}/snapshots/{snap}", "POST /1.0/instances")
	f := &cli.Factory{IO: ios}
	for _, args := range [][]string{{"c1", ""}, {"c1", "a/b"}} {
		cmd := NewCmdSnapshot(f, func(context.Context, *SnapshotOptions) error { t.Errorf("snapshot %q ran", args); return nil })
		cmd.SetArgs(args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		if err := cmd.Execute(); err == nil {
			t.Errorf("lite snapshot %q: no error", args)
		}
	}
	refused := []func() error{
		func() error {
			return RunRestore(t.Context(), &RestoreOptions{IO: ios, Client: c, Name: "c1", Snapshot: ""})
		},
		func() error {
			return RunRename(t.Context(), &RenameOptions{IO: ios, Client: c, From: "c1", To: "c2/s"})
		},
		func() error {
			return RunRename(t.Context(), &RenameOptions{IO: ios, Client: c, From: "c1/s0", To: "c2/s1"})
		},
		func() error { return RunRename(t.Context(), &RenameOptions{IO: ios, Client: c, From: "c1/", To: "x"}) },
		func() error {
			return RunCopy(t.Context(), &CopyOptions{IO: ios, Client: c, Source: "c1", Dest: "c2/s"})
		},
		func() error { return RunCopy(t.Context(), &CopyOptions{IO: ios, Client: c, Source: "c1/", Dest: "c2"}) },
	}
	for i, run := range refused {
		if err := run(); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
	if got := s.CallLog(); got != "" {
		t.Errorf("refused commands sent requests: %q", got)
	}
}

func TestRestoreRenameCopy(t *testing.T) {
	s, ios, c := newServer(t, "PUT /1.0/instances/{name}", "POST /1.0/instances/{name}",
		"POST /1.0/instances/{name}/snapshots/{snap}", "POST /1.0/instances")
	steps := []func() error{
		func() error {
			return RunRestore(t.Context(), &RestoreOptions{IO: ios, Client: c, Name: "c1", Snapshot: "s0"})
		},
		func() error { return RunRename(t.Context(), &RenameOptions{IO: ios, Client: c, From: "c1", To: "c2"}) },
		func() error {
			return RunRename(t.Context(), &RenameOptions{IO: ios, Client: c, From: "c2/s0", To: "clean"})
		},
		func() error {
			return RunRename(t.Context(), &RenameOptions{IO: ios, Client: c, From: "c2/clean", To: "c2/base"})
		},
		func() error {
			return RunCopy(t.Context(), &CopyOptions{IO: ios, Client: c, Source: "c2/base", Dest: "c3", InstanceOnly: true})
		},
		func() error { return RunMove(t.Context(), &MoveOptions{IO: ios, Client: c, Source: "c3", Dest: "c4"}) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	wantCalls := "PUT /1.0/instances/c1\nPOST /1.0/instances/c1\nPOST /1.0/instances/c2/snapshots/s0\n" +
		"POST /1.0/instances/c2/snapshots/clean\nPOST /1.0/instances\nPOST /1.0/instances/c3"
	if got := s.CallLog(); got != wantCalls {
		t.Errorf("calls:\n%s\nwant:\n%s", got, wantCalls)
	}
	var copyReq api.InstancesPost
	bodies := strings.Split(s.body(), "\n")
	if err := json.Unmarshal([]byte(bodies[4]), &copyReq); err != nil || copyReq.Name != "c3" ||
		copyReq.Source.Type != "copy" || copyReq.Source.Source != "c2/base" || !copyReq.Source.InstanceOnly {
		t.Errorf("copy request %s (%v)", bodies[4], err)
	}
	for i, want := range []string{`{"restore":"s0"}`, `"name":"c2"`, `"name":"clean"`, `"name":"base"`, "", `"name":"c4"`} {
		if !strings.Contains(bodies[i], want) {
			t.Errorf("request %d: %s, want %s in it", i, bodies[i], want)
		}
	}
}

// twoServers returns a source and a target daemon for transfers; the source serves web1 in
// the given state and its backup.
func twoServers(t *testing.T, status api.StatusCode, onTarget bool) (src, dst *clitest.Server, tr *Transfer, upload *[]byte) {
	return twoServersOn(t, status, onTarget, "")
}

// twoServersOn is twoServers with web1 made from image base (a fingerprint), which both
// servers have.
func twoServersOn(t *testing.T, status api.StatusCode, onTarget bool, base string) (src, dst *clitest.Server, tr *Transfer, upload *[]byte) {
	src, dst = clitest.NewServer(t), clitest.NewServer(t)
	src.Mux.HandleFunc("GET /1.0/instances/web1", func(w http.ResponseWriter, _ *http.Request) {
		inst := api.InstanceFull{Instance: api.Instance{Name: "web1", StatusCode: status, Status: status.String()}}
		if base != "" {
			inst.Config = map[string]string{"volatile.base_image": base}
		}
		clitest.Sync(w, inst)
	})
	if base != "" {
		for _, s := range []*clitest.Server{src, dst} {
			s.Mux.HandleFunc("GET /1.0/images/"+base, func(w http.ResponseWriter, _ *http.Request) {
				clitest.Sync(w, api.Image{Fingerprint: base})
			})
		}
	}
	src.Mux.HandleFunc("GET /1.0/instances/web1/export", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "the backup")
	})
	for _, route := range []string{"PUT /1.0/instances/web1/state", "DELETE /1.0/instances/web1"} {
		src.Mux.HandleFunc(route, func(w http.ResponseWriter, _ *http.Request) { src.Async(w, api.Operation{}) })
	}
	dst.Mux.HandleFunc("GET /1.0/instances/web1", func(w http.ResponseWriter, _ *http.Request) {
		if onTarget {
			clitest.Sync(w, api.InstanceFull{Instance: api.Instance{Name: "web1"}})
			return
		}
		clitest.Fail(w, http.StatusNotFound, "Instance not found")
	})
	upload = new([]byte)
	dst.Mux.HandleFunc("POST /1.0/instances", func(w http.ResponseWriter, r *http.Request) {
		*upload, _ = io.ReadAll(r.Body)
		dst.Async(w, api.Operation{})
	})
	dst.Mux.HandleFunc("PUT /1.0/instances/web1/state", func(w http.ResponseWriter, _ *http.Request) { dst.Async(w, api.Operation{}) })
	sc, dc := src.Client(t), dst.Client(t)
	tr = &Transfer{SrcName: "web1", DstName: "web1",
		Src: func() (Streamer, error) { return sc, nil }, Dst: func() (Streamer, error) { return dc, nil }}
	return src, dst, tr, upload
}

func TestTransferBetweenServers(t *testing.T) {
	ios, _, _ := cli.TestIO("")
	src, dst, tr, upload := twoServers(t, api.Stopped, false)
	if err := RunCopy(t.Context(), &CopyOptions{IO: ios, Transfer: tr, InstanceOnly: true}); err != nil {
		t.Fatal(err)
	}
	if string(*upload) != "the backup" || src.CallLog() != "GET /1.0/instances/web1?recursion=1\nGET /1.0/instances/web1/export?instance_only=true" ||
		dst.CallLog() != "GET /1.0/instances/web1?recursion=1\nPOST /1.0/instances" {
		t.Errorf("copy: uploaded %q; source calls %q; target calls %q", *upload, src.CallLog(), dst.CallLog())
	}

	// A stateless move of a running instance: stop, stream, delete the source, start there.
	src, dst, tr, _ = twoServers(t, api.Running, false)
	tr.Move, tr.Stateless = true, true
	if err := RunMove(t.Context(), &MoveOptions{IO: ios, Transfer: tr}); err != nil {
		t.Fatal(err)
	}
	if src.CallLog() != "GET /1.0/instances/web1?recursion=1\nPUT /1.0/instances/web1/state\nGET /1.0/instances/web1/export\nDELETE /1.0/instances/web1" ||
		dst.CallLog() != "GET /1.0/instances/web1?recursion=1\nPOST /1.0/instances\nPUT /1.0/instances/web1/state" {
		t.Errorf("move: source calls %q; target calls %q", src.CallLog(), dst.CallLog())
	}
}

func TestTransferRefusals(t *testing.T) {
	ios, _, _ := cli.TestIO("")
	src, dst, tr, _ := twoServers(t, api.Stopped, true)
	if err := tr.Run(t.Context(), ios); !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("copy onto an existing instance: %v, want ErrAlreadyExists", err)
	}
	if strings.Contains(src.CallLog(), "export") || strings.Contains(dst.CallLog(), "POST") {
		t.Errorf("something was streamed: source %q, target %q", src.CallLog(), dst.CallLog())
	}
	src, _, tr, _ = twoServers(t, api.Running, false)
	tr.Move = true
	if err := tr.Run(t.Context(), ios); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("move of a running instance without --stateless: %v, want ErrInvalid", err)
	}
	if src.CallLog() != "GET /1.0/instances/web1?recursion=1" {
		t.Errorf("source calls %q: nothing may be stopped or streamed", src.CallLog())
	}
	tr.SrcName = "web1/snap0"
	if err := tr.Run(t.Context(), ios); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("transfer of a snapshot: %v, want ErrInvalid", err)
	}
}

// TestTransferLayersOnly: an instance made from an image the target has goes as its
// writable layers only; the image is not sent again.
func TestTransferLayersOnly(t *testing.T) {
	ios, _, _ := cli.TestIO("")
	fp := strings.Repeat("ab", 32)
	src, dst, tr, _ := twoServersOn(t, api.Stopped, false, fp)
	if err := RunCopy(t.Context(), &CopyOptions{IO: ios, Transfer: tr}); err != nil {
		t.Fatal(err)
	}
	if src.CallLog() != "GET /1.0/instances/web1?recursion=1\nGET /1.0/images/"+fp+"\nGET /1.0/instances/web1/export?layers=writable" ||
		dst.CallLog() != "GET /1.0/instances/web1?recursion=1\nGET /1.0/images/"+fp+"\nPOST /1.0/instances" {
		t.Errorf("source calls %q; target calls %q", src.CallLog(), dst.CallLog())
	}
}
