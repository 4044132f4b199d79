package remote

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lite/client/api"
	"lite/cmd/internal/cli"
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
		{"ubuntu", "http://x", "simplestreams"},
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
	if src, err := ImageSource("ubuntu:"); err != nil || src.Server != Builtins["ubuntu"].Addr || src.Alias != "default" {
		t.Errorf("ubuntu: -> %+v %v", src, err)
	}
	if _, err := ImageSource("nosuch:x"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("unknown remote: %v", err)
	}
}

// TestConfigBuiltins: a new config has LXD's three built-in remotes; ubuntu and ubuntu-daily
// can be re-pointed but not removed or renamed (and come back if deleted from the file);
// images can be removed and stays removed; local is never touched.
func TestConfigBuiltins(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("LITE_CONF", dir)
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range Builtins {
		if c.Remotes[name] != r {
			t.Errorf("built-in %s = %+v, want %+v", name, c.Remotes[name], r)
		}
	}
	if c.Remotes["images"].Addr != "https://images.lxd.canonical.com" || c.DefaultRemote != "local" {
		t.Errorf("images: %+v, default %q", c.Remotes["images"], c.DefaultRemote)
	}
	for _, bad := range []struct {
		what string
		err  error
	}{
		{"remove ubuntu", c.Remove("ubuntu")},
		{"remove ubuntu-daily", c.Remove("ubuntu-daily")},
		{"remove local", c.Remove("local")},
		{"remove nosuch", c.Remove("nosuch")},
		{"rename ubuntu", c.Rename("ubuntu", "u")},
		{"rename local", c.Rename("local", "l")},
		{"rename images to ubuntu", c.Rename("images", "ubuntu")},
		{"set-url local", c.SetURL("local", "http://127.0.0.1:1")},
		{"set-url ubuntu ftp", c.SetURL("ubuntu", "ftp://x")},
		{"set-url nosuch", c.SetURL("nosuch", "http://127.0.0.1:1")},
		{"switch nosuch", c.Switch("nosuch")},
	} {
		if bad.err == nil {
			t.Errorf("%s: accepted", bad.what)
		}
	}
	if err := c.SetURL("ubuntu", "http://127.0.0.1:1/mirror/"); err != nil || c.Remotes["ubuntu"].Addr != "http://127.0.0.1:1/mirror" {
		t.Errorf("set-url ubuntu: %v %+v", err, c.Remotes["ubuntu"])
	}
	if err := c.Rename("images", "lci"); err != nil {
		t.Fatal(err)
	}
	if err := c.Switch("lci"); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	c, _ = Load()
	if _, ok := c.Remotes["images"]; ok || c.Remotes["lci"] != Builtins["images"] || c.DefaultRemote != "lci" {
		t.Errorf("after rename and switch: %+v", c)
	}
	if c.Remotes["ubuntu"].Addr != "http://127.0.0.1:1/mirror" {
		t.Errorf("set-url was not kept: %+v", c.Remotes["ubuntu"])
	}
	if err := c.Remove("lci"); err != nil || c.DefaultRemote != "local" {
		t.Errorf("remove lci: %v, default %q", err, c.DefaultRemote)
	}
	// A file that lost the static remotes gets them back; images, once removed, stays so.
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte("remotes: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ = Load()
	if _, ok := c.Remotes["images"]; ok || c.Remotes["ubuntu"] != Builtins["ubuntu"] || c.Remotes["ubuntu-daily"] != Builtins["ubuntu-daily"] {
		t.Errorf("reloaded: %+v", c.Remotes)
	}
}

// TestRemoteCommands drives the remote commands through cobra against a temp config.
func TestRemoteCommands(t *testing.T) {
	t.Setenv("LITE_CONF", t.TempDir())
	run := func(args ...string) (string, error) {
		ios, out, _ := cli.TestIO("")
		cmd := NewCmdRemote(&cli.Factory{IO: ios})
		cmd.SetArgs(args)
		cmd.SetOut(ios.Out)
		cmd.SetErr(ios.ErrOut)
		err := cmd.Execute()
		return out.String(), err
	}
	for _, args := range [][]string{
		{"add", "lab", "http://127.0.0.1:1"}, {"rename", "lab", "lab2"}, {"set-url", "ubuntu", "http://127.0.0.1:2/"},
		{"switch", "lab2"},
	} {
		if _, err := run(args...); err != nil {
			t.Fatalf("lite remote %v: %v", args, err)
		}
	}
	if out, err := run("get-default"); err != nil || out != "lab2\n" {
		t.Errorf("get-default: %q %v", out, err)
	}
	out, err := run("list", "--format", "csv")
	want := "local,unix://,lite,YES\nimages,https://images.lxd.canonical.com,simplestreams,NO\n" +
		"lab2 (current),http://127.0.0.1:1,simplestreams,NO\nubuntu,http://127.0.0.1:2,simplestreams,YES\n" +
		"ubuntu-daily,https://cloud-images.ubuntu.com/daily,simplestreams,YES\n"
	if err != nil || out != want {
		t.Errorf("list:\n%s%v\nwant:\n%s", out, err, want)
	}
	if out, err := run("list", "--format", "json"); err != nil || !strings.Contains(out, `"ubuntu":{"addr":"http://127.0.0.1:2","protocol":"simplestreams","public":true,"static":true}`) {
		t.Errorf("list json: %s %v", out, err)
	}
	for _, args := range [][]string{{"remove", "ubuntu"}, {"rename", "ubuntu-daily", "x"}, {"switch", "nosuch"}, {"add", "x", "ftp://h"}} {
		if _, err := run(args...); err == nil {
			t.Errorf("lite remote %v accepted", args)
		}
	}
	if _, err := run("remove", "lab2"); err != nil {
		t.Fatal(err)
	}
	if out, _ := run("get-default"); out != "local\n" {
		t.Errorf("after removing the default remote: %q", out)
	}
}

func TestServerAddr(t *testing.T) {
	for in, want := range map[string]string{
		"https://10.0.0.2:9443": "10.0.0.2:9443",
		"https://host2":         "host2:8443",
		"https://[::1]/":        "[::1]:8443",
	} {
		if got, err := serverAddr(in); err != nil || got != want {
			t.Errorf("serverAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"http://host2", "https://", "https://u@host2", "https://host2/path", "https://host2?x=1", "host2:8443"} {
		if _, err := serverAddr(bad); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("serverAddr(%q): %v, want ErrInvalid", bad, err)
		}
	}
}
