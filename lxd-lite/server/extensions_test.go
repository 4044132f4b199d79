package server

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Every advertised extension has its endpoints in the table and a test that exists; none of
// the extensions that would send clients to missing endpoints is advertised.
func TestExtensionsAreImplemented(t *testing.T) {
	patterns := map[string]bool{}
	for _, e := range slices.Concat(endpointGroups()...) {
		patterns[e.pattern] = true
	}
	root := filepath.Join("..", "..")
	seen := map[string]bool{}
	for _, x := range extensions {
		if seen[x.name] {
			t.Errorf("%s listed twice", x.name)
		}
		seen[x.name] = true
		if len(x.endpoints) == 0 {
			t.Errorf("%s names no endpoint", x.name)
		}
		for _, p := range x.endpoints {
			if !patterns[p] {
				t.Errorf("%s needs %q, which is not in the endpoint table", x.name, p)
			}
		}
		file, name, ok := strings.Cut(x.proof, ":")
		if !ok {
			t.Errorf("%s: proof %q is not file:TestName", x.name, x.proof)
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Errorf("%s: proof file: %v", x.name, err)
			continue
		}
		if !strings.Contains(string(b), "func "+name+"(") {
			t.Errorf("%s: %s has no func %s", x.name, file, name)
		}
	}
	for _, n := range notAdvertised {
		if seen[n] {
			t.Errorf("%s is advertised but lited does not serve what clients then call", n)
		}
	}
	for _, must := range []string{"instances", "api_filtering", "instance_get_full", "network", "directory_manipulation", "file_symlinks"} {
		if !seen[must] {
			t.Errorf("%s is not advertised: LXD's client cannot work without it", must)
		}
	}
}
