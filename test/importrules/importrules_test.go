package importrules

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// pkg is the part of `go list -json` these rules read.
type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
	ForTest    string
	Error      *struct{ Err string }
}

// list runs `go list -e -deps -test -json` over the module and returns its packages, test
// variants included.
func list(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-deps", "-test", "-json", "lite/...")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 50 {
		t.Fatalf("go list returned %d packages: not the whole module", len(pkgs))
	}
	return pkgs
}

// base is the package a test variant belongs to: "lite/x [lite/x.test]" and its external
// test package "lite/x_test [lite/x.test]" are both lite/x.
func base(path string) string {
	path, _, _ = strings.Cut(path, " ")
	path = strings.TrimSuffix(path, ".test")
	return strings.TrimSuffix(path, "_test")
}

// under reports whether path is root or a package below it.
func under(path, root string) bool {
	return path == root || strings.HasPrefix(path, root+"/")
}

// production returns the module's packages as they are built into binaries (no test variants).
func production(pkgs []pkg) map[string]pkg {
	out := map[string]pkg{}
	for _, p := range pkgs {
		if under(p.ImportPath, "lite") && p.ForTest == "" && !strings.Contains(p.ImportPath, " ") && !strings.HasSuffix(p.ImportPath, ".test") {
			out[p.ImportPath] = p
		}
	}
	return out
}

// forbidden returns the deps of p under any of roots.
func forbidden(p pkg, roots ...string) []string {
	var bad []string
	for _, d := range p.Deps {
		for _, r := range roots {
			if under(d, r) {
				bad = append(bad, d)
			}
		}
	}
	return bad
}

// TestImportRules checks who may depend on whom:
//   - the CLI (cmd/lite, cmd/internal/...) speaks HTTP only: no daemon, DB or image code;
//   - client/api is the wire types, standard library only;
//   - the client links nothing of the daemon;
//   - go-lxc and netlink are each reached from one package.
func TestImportRules(t *testing.T) {
	pkgs := list(t)
	prod := production(pkgs)
	std := map[string]bool{}
	for _, p := range pkgs {
		if p.Standard {
			std[p.ImportPath] = true
		}
	}

	for path, p := range prod {
		switch {
		case path == "lite/cmd/lite" || under(path, "lite/cmd/internal"):
			if bad := forbidden(p, "lite/images", "lite/lxd-lite", "lite/db"); len(bad) > 0 {
				t.Errorf("%s (the CLI) depends on %v: the CLI must reach the daemon over the API only", path, bad)
			}
		case under(path, "lite/client"):
			if bad := forbidden(p, "lite/lxd-lite", "lite/db", "lite/images", "lite/cmd"); len(bad) > 0 {
				t.Errorf("%s (the client) depends on %v: the client must not link daemon code", path, bad)
			}
		}
	}
	api, ok := prod["lite/client/api"]
	if !ok {
		t.Fatal("lite/client/api not in go list's output")
	}
	for _, d := range api.Deps {
		if !std[d] {
			t.Errorf("lite/client/api depends on %s: the wire types use the standard library only", d)
		}
	}

	onlyImporter(t, pkgs, "github.com/lxc/go-lxc", "lite/lxd-lite/instance/drivers/lxc")
	onlyImporter(t, pkgs, "github.com/vishvananda/netlink", "lite/lxd-lite/netutil")
}

// onlyImporter checks that want, and nothing else in the module (tests included), imports
// lib or a package below it.
func onlyImporter(t *testing.T, pkgs []pkg, lib, want string) {
	t.Helper()
	seen := map[string]bool{}
	for _, p := range pkgs {
		if !under(base(p.ImportPath), "lite") {
			continue
		}
		if slices.ContainsFunc(p.Imports, func(i string) bool { return under(i, lib) }) {
			seen[base(p.ImportPath)] = true
		}
	}
	var got []string
	for p := range seen {
		got = append(got, p)
	}
	sort.Strings(got)
	if len(got) != 1 || got[0] != want {
		t.Errorf("%s is imported by %v; only %s may import it", lib, got, want)
	}
}
