package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"lite/client/api"
)

func TestCheckPprofAddr(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:0", "127.3.4.5:1"} {
		if err := CheckPprofAddr(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"0.0.0.0:6060", ":6060", "[::]:6060", "10.1.2.3:6060", "example.com:6060", "127.0.0.1", ""} {
		if err := CheckPprofAddr(bad); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%q: want ErrInvalid, got %v", bad, err)
		}
	}
}

func TestServePprof(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addr, done, err := ServePprof(ctx, "127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile:") {
		t.Fatalf("status %d, body %.200s", resp.StatusCode, body)
	}
	cancel()
	<-done
	if _, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Fatal("pprof still answers after its context ended")
	}
	if _, _, err := ServePprof(context.Background(), "0.0.0.0:0", slog.Default()); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("non-loopback address: want ErrInvalid, got %v", err)
	}
}
