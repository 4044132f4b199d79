package remote

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"lite/images/simplestreams"
)

// TestResolveSourceOrder: local alias, then remotes in name order (an unreachable one passed
// over), then the bare name for the daemon's builder.
func TestResolveSourceOrder(t *testing.T) {
	t.Setenv("LITE_CONF", t.TempDir())
	tree := t.TempDir()
	f := filepath.Join(t.TempDir(), "img.tar.gz")
	if err := os.WriteFile(f, []byte("unified"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := simplestreams.Write(tree, []simplestreams.Entry{{OS: "Ubuntu", Release: "noble", Variant: "default",
		Arch: "amd64", Serial: "20240101_00:00", Aliases: []string{"ubuntu"}, Files: []string{f}}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(tree)))
	defer srv.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	c, _ := Load()
	if err := c.Add("a-dead", dead.URL, "simplestreams"); err != nil {
		t.Fatal(err)
	}
	if err := c.Add("b-live", srv.URL, "simplestreams"); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	none := func(string) (bool, error) { return false, nil }
	all := func(string) (bool, error) { return true, nil }

	if src, err := ResolveSource(ctx, "ubuntu", all); err != nil || src.Server != "" || src.Alias != "ubuntu" {
		t.Errorf("local alias: %+v %v", src, err)
	}
	if src, err := ResolveSource(ctx, "ubuntu", none); err != nil || src.Server != srv.URL || src.Protocol != "simplestreams" {
		t.Errorf("remote: %+v %v", src, err)
	}
	if src, err := ResolveSource(ctx, "debian/13", none); err != nil || src.Server != "" || src.Alias != "debian/13" {
		t.Errorf("builder fallback: %+v %v", src, err)
	}
}
