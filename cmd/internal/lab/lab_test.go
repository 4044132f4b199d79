package lab

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"lite/client/api"
)

func TestResolveTargets(t *testing.T) {
	labs := []api.Lab{
		{Name: "shop", Nodes: []api.LabNode{{Name: "lb"}, {Name: "web1", Groups: []string{"web"}}, {Name: "web2", Groups: []string{"web"}}}},
		{Name: "other", Nodes: []api.LabNode{{Name: "x"}}},
	}
	cases := map[string][]string{
		"shop":     {"lb", "web1", "web2"},
		"web":      {"web1", "web2"},
		"lb,x":     {"lb", "x"},
		"web,web1": {"web1", "web2"},
	}
	for spec, want := range cases {
		got, err := resolveTargets(labs, spec)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, %v; want %v", spec, got, err, want)
		}
	}
	if _, err := resolveTargets(labs, "lb,nope"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("unknown target: %v", err)
	}
}

func TestPrefixWriter(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	w := &prefixWriter{mu: &mu, w: &out, prefix: "web1 | "}
	_, _ = w.Write([]byte("one\ntw"))
	_, _ = w.Write([]byte("o\nthree"))
	w.flush()
	if out.String() != "web1 | one\nweb1 | two\nweb1 | three\n" {
		t.Errorf("prefixed output = %q", out.String())
	}
}

func TestRequestReadsNamedFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("conf/a.conf", "a=1\n")
	key := write("k.pub", "ssh-ed25519 AAAA test\n")
	lab := write("lab.yaml", "name: t\nnodes:\n  n1: {ssh_keys: ["+key+"], files: [{source: conf/a.conf, path: /etc/a.conf}]}\n")
	l, req, err := request(lab)
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "t" || string(req.Files["conf/a.conf"]) != "a=1\n" || !strings.HasPrefix(string(req.Files[key]), "ssh-ed25519") {
		t.Errorf("request files = %v", req.Files)
	}
	write("lab.yaml", "name: t\nnodes:\n  n1: {ssh_keys: [~/nonexistent-key-for-test.pub]}\n")
	t.Setenv("HOME", dir)
	t.Setenv("SUDO_USER", "")
	if _, _, err := request(lab); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "nonexistent-key-for-test.pub") {
		t.Errorf("missing key: %v", err)
	}
}
