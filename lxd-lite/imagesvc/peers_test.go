package imagesvc

import (
	"archive/tar"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"lite/client"
	"lite/client/api"
	"lite/images"
)

// fakePeers is a cluster whose members serve image exports from their own stores.
type fakePeers struct {
	t       *testing.T
	holders []string
	sockets map[string]string // member -> unix socket of its export server
	mu      sync.Mutex
	records []string
}

func (p *fakePeers) Enabled() bool { return true }

func (p *fakePeers) Holders(context.Context, string) ([]string, error) { return p.holders, nil }

func (p *fakePeers) Connect(_ context.Context, member string) (*client.Client, error) {
	return client.Connect(p.sockets[member])
}

func (p *fakePeers) Record(_ context.Context, fp string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records = append(p.records, fp)
	return nil
}

// serveExports serves GET /1.0/images/{fp}/export of a unified image from store, as lited does,
// on a temp unix socket.
func serveExports(t *testing.T, store *images.Store) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "litepeer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /1.0/images/{fp}/export", func(w http.ResponseWriter, r *http.Request) {
		p, err := store.BlobPath(r.PathValue("fp"))
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"type":"error","error":"image not found","error_code":404,"error_kind":"not found"}`))
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", "attachment; filename="+r.PathValue("fp")+strings.TrimPrefix(filepath.Base(p), "image"))
		http.ServeFile(w, r, p)
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sock
}

// A member that lacks an image's files fetches them from a member that has them (the first
// holder without them is skipped) and records it; a member that sends another image under
// the fingerprint is refused and leaves nothing.
func TestFetchImageFromPeer(t *testing.T) {
	ctx := context.Background()
	host := images.HostArchitecture()
	full := &images.Store{Dir: filepath.Join(t.TempDir(), "store")}
	fp, _, err := full.Add(ctx, unifiedImage(t, host))
	if err != nil {
		t.Fatal(err)
	}
	empty := &images.Store{Dir: filepath.Join(t.TempDir(), "store")}
	peers := &fakePeers{t: t, holders: []string{"host3", "host2"},
		sockets: map[string]string{"host2": serveExports(t, full), "host3": serveExports(t, empty)}}
	s := newService(t)
	s.Peers = peers
	var msgs []string
	if err := s.ensureLocal(ctx, fp, func(m string) { msgs = append(msgs, m) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.Files(fp); err != nil {
		t.Errorf("fetched image not in the store: %v", err)
	}
	if !slices.Equal(peers.records, []string{fp}) {
		t.Errorf("records = %v", peers.records)
	}
	if len(msgs) != 2 || !strings.Contains(msgs[1], "host2") {
		t.Errorf("progress = %q", msgs)
	}
	// Already here: no fetch, no record.
	if err := s.ensureLocal(ctx, fp, nil); err != nil || len(peers.records) != 1 {
		t.Errorf("second ensureLocal: %v, records %v", err, peers.records)
	}

	// A hostile (or confused) member answers with another image.
	other := &images.Store{Dir: filepath.Join(t.TempDir(), "store")}
	otherFP, _, err := other.Add(ctx, unifiedImage(t, host, &tar.Header{Name: "rootfs/other", Typeflag: tar.TypeReg, Mode: 0o644}))
	if err != nil {
		t.Fatal(err)
	}
	liar := &images.Store{Dir: filepath.Join(t.TempDir(), "store")}
	if err := os.MkdirAll(filepath.Join(liar.Dir, fp), 0o755); err != nil {
		t.Fatal(err)
	}
	blob, _ := other.BlobPath(otherFP)
	if err := os.Link(blob, filepath.Join(liar.Dir, fp, filepath.Base(blob))); err != nil {
		t.Fatal(err)
	}
	s2 := newService(t)
	s2.Peers = &fakePeers{t: t, holders: []string{"evil"}, sockets: map[string]string{"evil": serveExports(t, liar)}}
	err = s2.ensureLocal(ctx, fp, nil)
	if otherFP == fp {
		t.Fatal("test images share a fingerprint")
	}
	if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "not "+fp[:12]) {
		t.Errorf("substituted image: %v, want ErrInvalid naming the fingerprint", err)
	}
	if got := storeEntries(t, s2); len(got) != 0 {
		t.Errorf("substituted image left %v in the store", got)
	}

	// Nobody has it.
	s3 := newService(t)
	s3.Peers = &fakePeers{t: t}
	if err := s3.ensureLocal(ctx, fp, nil); !errors.Is(err, api.ErrUnavailable) {
		t.Errorf("no holder: %v, want ErrUnavailable", err)
	}
}
