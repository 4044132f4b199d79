package remote

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lite/client/api"
	"lite/client/simplestreams"
)

// serveTree publishes one unified image with the given aliases on a local server.
func serveTree(t *testing.T, aliases ...string) string {
	t.Helper()
	tree := t.TempDir()
	f := filepath.Join(t.TempDir(), "img.tar.gz")
	if err := os.WriteFile(f, []byte("unified"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := simplestreams.Write(tree, []simplestreams.Entry{{OS: "Ubuntu", Release: "noble", Variant: "default",
		Arch: "amd64", Serial: "20240101_00:00", Aliases: aliases, Files: []string{f}}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(tree)))
	t.Cleanup(srv.Close)
	return srv.URL
}

// deadURL is a local address where nothing answers.
func deadURL(t *testing.T) string {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	return dead.URL
}

// TestResolveSourceOrder: local alias, then (for ubuntu) the ubuntu: remote's LTS, then
// remotes the user added in name order (an unreachable one passed over), then the bare name
// for the daemon's builder. The built-in remotes are re-pointed first: no test contacts them.
func TestResolveSourceOrder(t *testing.T) {
	t.Setenv("LITE_CONF", t.TempDir())
	live := serveTree(t, "ubuntu", "mything")
	c, _ := Load()
	for name := range Builtins {
		if err := c.SetURL(name, deadURL(t)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Add("a-dead", deadURL(t), "simplestreams"); err != nil {
		t.Fatal(err)
	}
	if err := c.Add("b-live", live, "simplestreams"); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	none := func(string) (bool, error) { return false, nil }
	all := func(string) (bool, error) { return true, nil }

	if res, err := ResolveSource(ctx, "ubuntu", all); err != nil || res.Source.Server != "" || res.Source.Alias != "ubuntu" || res.Missed != nil {
		t.Errorf("local alias: %+v %v", res, err)
	}
	res, err := ResolveSource(ctx, "ubuntu", none)
	if err != nil || res.Source.Server != live || res.Source.Protocol != "simplestreams" || len(res.Missed) != 1 {
		t.Errorf("ubuntu: unreachable, then b-live: %+v %v", res, err)
	}
	if msg := res.Explain(api.ErrInvalid).Error(); !strings.Contains(msg, `lite remote set-url ubuntu URL`) || !strings.Contains(msg, "lts or default") {
		t.Errorf("Explain: %s", msg)
	}
	if res, err := ResolveSource(ctx, "debian/13", none); err != nil || res.Source.Server != "" || res.Source.Alias != "debian/13" || res.Missed != nil {
		t.Errorf("builder fallback: %+v %v", res, err)
	}

	// ubuntu: re-pointed at a mirror whose LTS has the "lts" alias.
	mirror := serveTree(t, "24.04", "noble", "lts")
	c, _ = Load()
	if err := c.SetURL("ubuntu", mirror); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	if res, err := ResolveSource(ctx, "ubuntu", none); err != nil || res.Source.Server != mirror || res.Source.Alias != "lts" {
		t.Errorf("ubuntu from the ubuntu: mirror: %+v %v", res, err)
	}
	if res, err := ResolveSource(ctx, "ubuntu/noble", none); err != nil || res.Source.Server != mirror || res.Source.Alias != "noble" {
		t.Errorf("ubuntu/noble from the ubuntu: mirror: %+v %v", res, err)
	}
	// A switched default remote takes bare names, as LXD's default remote does.
	c, _ = Load()
	if err := c.Switch("b-live"); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	if res, err := ResolveSource(ctx, "mything", all); err != nil || res.Source.Server != live {
		t.Errorf("default remote b-live: %+v %v", res, err)
	}
	if _, err := ResolveSource(ctx, "nosuch:x", none); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("unknown remote: %v", err)
	}
}
