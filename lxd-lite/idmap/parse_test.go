package idmap

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	content := `# comment
root:100000:65536

  root:1000000:1000000000  
alice:200000:65536
bob:not:a-range
root:5:10
`
	got, err := Parse(content, "root")
	if err != nil {
		t.Fatal(err)
	}
	want := []Range{{100000, 65536}, {1000000, 1000000000}, {5, 10}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("root's ranges %v, want %v", got, want)
	}
	if got, err := Parse(content, "alice"); err != nil || !reflect.DeepEqual(got, []Range{{200000, 65536}}) {
		t.Errorf("alice's ranges %v, %v", got, err)
	}
	if got, err := Parse(content, "carol"); err != nil || got != nil {
		t.Errorf("carol's ranges %v, %v, want none", got, err)
	}
}

// TestParseRefusesBadRanges: a malformed range of the user asked for is an error naming the
// line (other users' lines are not lite's business).
func TestParseRefusesBadRanges(t *testing.T) {
	for _, line := range []string{
		"root:x:65536", "root:100000:", "root:-1:65536", "root:100000:4294967296", "root:4294967296:1",
	} {
		_, err := Parse("# first\n"+line+"\n", "root")
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: err = %v, want an error naming line 2", line, err)
		}
	}
	// A range past the last id (4294967294; -1 is no id) would give containers ids the kernel
	// refuses to map, and fail every start with an obscure error.
	for _, line := range []string{"root:4294000000:1000000", "root:4294901760:65536"} {
		_, err := Parse(line+"\n", "root")
		if err == nil || !strings.Contains(err.Error(), "4294967294") {
			t.Errorf("%q: err = %v, want an error about the last id", line, err)
		}
	}
	if got, err := Parse("root:4294901759:65536\n", "root"); err != nil || len(got) != 1 {
		t.Errorf("a range ending at the last id: %v, %v", got, err)
	}
	// Lines of another shape are not ranges at all.
	if got, err := Parse("root:1:2:3\nroot\n", "root"); err != nil || got != nil {
		t.Errorf("odd lines: %v, %v", got, err)
	}
}

// TestEnsureKeepsAUsableRange: a file where root has a range of at least Size ids is left
// alone, and that range (the first large enough) is returned.
func TestEnsureKeepsAUsableRange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "subuid")
	orig := "root:1000:100\nroot:300000:65536\nroot:900000:65536\n"
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	r, changed, err := Ensure(path)
	if err != nil || changed || r != (Range{300000, 65536}) {
		t.Errorf("Ensure = %v, %v, %v; want {300000 65536}, unchanged", r, changed, err)
	}
	if b, _ := os.ReadFile(path); string(b) != orig {
		t.Errorf("file changed to %q", b)
	}
}

// TestEnsureAddsRange: without a usable range for root, LXD's default range is appended (on
// a line of its own, also after a last line without a newline), once; a missing file is
// created.
func TestEnsureAddsRange(t *testing.T) {
	dir := t.TempDir()
	for name, orig := range map[string]string{
		"missing":    "",
		"small":      "root:1000:100\n",
		"no newline": "alice:100000:65536",
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if orig != "" {
			if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r, changed, err := Ensure(path)
		if err != nil || !changed || r != (Range{defaultStart, defaultCount}) {
			t.Errorf("%s: Ensure = %v, %v, %v", name, r, changed, err)
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		prefix := orig
		if prefix != "" && !strings.HasSuffix(prefix, "\n") {
			prefix += "\n"
		}
		if want := prefix + "root:1000000:1000000000\n"; string(b) != want {
			t.Errorf("%s: file %q, want %q", name, b, want)
		}
		if r2, changed, err := Ensure(path); err != nil || changed || r2 != r {
			t.Errorf("%s: second Ensure = %v, %v, %v; want the same range, unchanged", name, r2, changed, err)
		}
	}
}

// TestEnsureRefusesBrokenFile: a malformed root line is an error naming the file, and the
// file is not appended to.
func TestEnsureRefusesBrokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "subgid")
	if err := os.WriteFile(path, []byte("root:lots:65536\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Ensure(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Ensure of a broken file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "root:lots:65536\n" {
		t.Errorf("broken file changed to %q", b)
	}
	if _, _, err := Ensure(t.TempDir()); err == nil {
		t.Error("Ensure of a directory succeeded")
	}
}
