package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestResultsHistoryAppends: each write appends a run; an old one-run file becomes the first
// run; a file that is neither is left untouched and the run goes beside it.
func TestResultsHistoryAppends(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	old := `{"time": "2026-01-01T00:00:00Z", "results": [{"row": "launch"}]}` + "\n"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newReport(options{slow: 1, fast: 1, burst: 2, burstN: 1, restart: 3, density: 4})
	r.add("burst", "lite", []float64{1.5, 2.5})
	for i := 0; i < 2; i++ {
		if err := r.write(path); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Runs []map[string]any `json:"runs"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	if len(h.Runs) != 3 {
		t.Fatalf("want 3 runs (the old one and two appended), got %d", len(h.Runs))
	}
	if h.Runs[0]["time"] != "2026-01-01T00:00:00Z" {
		t.Fatalf("the old run was not kept first: %v", h.Runs[0])
	}
	for _, k := range []string{"commit", "args", "loadavg", "options", "results", "time"} {
		if _, ok := h.Runs[2][k]; !ok {
			t.Errorf("appended run has no %q", k)
		}
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("[1,2]"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = r.write(bad)
	if err == nil || !strings.Contains(err.Error(), "move it aside") {
		t.Fatalf("want a refusal naming what to do, got %v", err)
	}
	if b, _ := os.ReadFile(bad); string(b) != "[1,2]" {
		t.Fatalf("unreadable history was overwritten: %q", b)
	}
	if _, err := os.Stat(bad + ".new"); err != nil {
		t.Fatalf("the run was not kept beside it: %v", err)
	}
}
