package remote

import (
	"errors"
	"testing"

	"lite/client/api"
)

func TestConfigAddSplit(t *testing.T) {
	t.Setenv("LITE_CONF", t.TempDir())
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Add("lab", "http://127.0.0.1:8443/", "simplestreams"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ name, addr, proto string }{
		{"lab", "http://x", "simplestreams"},
		{"local", "http://x", "simplestreams"},
		{"a b", "http://x", "simplestreams"},
		{"x", "ftp://x", "simplestreams"},
		{"x", "http://x", "lxd"},
	} {
		if err := c.Add(bad.name, bad.addr, bad.proto); err == nil {
			t.Errorf("Add(%q, %q, %q) accepted", bad.name, bad.addr, bad.proto)
		}
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	src, err := ImageSource("lab:debian/12")
	if err != nil || src.Server != "http://127.0.0.1:8443" || src.Protocol != "simplestreams" || src.Alias != "debian/12" {
		t.Errorf("lab:debian/12 -> %+v %v", src, err)
	}
	for _, local := range []string{"debian/12", "local:debian/12"} {
		if src, err := ImageSource(local); err != nil || src.Server != "" || src.Alias != "debian/12" {
			t.Errorf("%s -> %+v %v", local, src, err)
		}
	}
	if _, err := ImageSource("nosuch:x"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("unknown remote: %v", err)
	}
}
