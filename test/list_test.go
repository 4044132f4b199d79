package test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestList checks lite list's columns, its machine formats and name filters.
func TestList(t *testing.T) {
	d := sharedWeb1(t)
	deleteOnCleanup(t, d, "other1")
	mustLite(t, d, "init", "debian/12", "other1")

	t.Run("columns", func(t *testing.T) {
		table := mustLite(t, d, "list", "-c", "ns4tS")
		lines := strings.Split(strings.TrimSpace(table), "\n")
		var header []string
		for _, l := range lines {
			if strings.HasPrefix(l, "|") {
				header = cells(l)
				break
			}
		}
		want := []string{"NAME", "STATE", "IPV4", "TYPE", "SNAPSHOTS"}
		if !slices.Equal(header, want) {
			t.Fatalf("lite list -c ns4tS: header %q, want %q\n%s", header, want, table)
		}
		rows := map[string][]string{}
		for _, l := range lines {
			if c := cells(l); len(c) == 5 && c[0] != "NAME" && c[0] != "" {
				rows[c[0]] = c
			}
		}
		if r := rows["web1"]; r == nil || r[1] != "RUNNING" || r[3] != "CONTAINER" || r[4] != "0" {
			t.Errorf("web1 row %q, want RUNNING, CONTAINER, 0 snapshots\n%s", r, table)
		}
		if r := rows["other1"]; r == nil || r[1] != "STOPPED" || r[2] != "" {
			t.Errorf("other1 row %q, want STOPPED with no address\n%s", r, table)
		}
	})

	t.Run("csv", func(t *testing.T) {
		rows := listCSV(t, d, "nst")
		if !slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r, []string{"web1", "RUNNING", "CONTAINER"}) }) ||
			!slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r, []string{"other1", "STOPPED", "CONTAINER"}) }) {
			t.Errorf("csv rows %q lack web1,RUNNING,CONTAINER or other1,STOPPED,CONTAINER", rows)
		}
		for _, r := range rows {
			if r[0] == "NAME" {
				t.Errorf("csv has a header row: %q", r)
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		out := mustLite(t, d, "list", "--format", "json")
		var list []map[string]any
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("lite list --format json: not a JSON array: %v\n%s", err, out)
		}
		checkListed(t, "json", list)
	})

	t.Run("yaml", func(t *testing.T) {
		out := mustLite(t, d, "list", "--format", "yaml")
		var list []map[string]any
		if err := yaml.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("lite list --format yaml: not a YAML list: %v\n%s", err, out)
		}
		checkListed(t, "yaml", list)
	})

	t.Run("filter by name", func(t *testing.T) {
		for _, c := range []struct {
			filter string
			want   []string
		}{
			{"web1", []string{"web1"}},
			{"other", []string{"other1"}},
			{"nomatch", nil},
		} {
			var got []string
			for _, r := range listCSV(t, d, "n", c.filter) {
				got = append(got, r[0])
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("lite list %s: %q, want %q", c.filter, got, c.want)
			}
		}
	})

	t.Run("bad column", func(t *testing.T) {
		_, stderr, code := d.Lite("list", "-c", "nZ")
		oneLineError(t, "lite list -c nZ", stderr, code, `Z`)
	})
}

// cells splits a table row "| a | b |" into trimmed cells.
func cells(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") {
		return nil
	}
	parts := strings.Split(line[1:len(line)-1], "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// checkListed checks web1 and other1 in a decoded JSON or YAML listing: name, status and the
// state object, with web1's pid.
func checkListed(t *testing.T, format string, list []map[string]any) {
	t.Helper()
	byName := map[string]map[string]any{}
	for _, inst := range list {
		if name, ok := inst["name"].(string); ok {
			byName[name] = inst
		}
	}
	for name, want := range map[string]string{"web1": "Running", "other1": "Stopped"} {
		inst := byName[name]
		if inst == nil {
			t.Errorf("%s: %s not listed (names: %v)", format, name, keys(byName))
			continue
		}
		if inst["status"] != want {
			t.Errorf("%s: %s status %v, want %s", format, name, inst["status"], want)
		}
		if inst["type"] != "container" {
			t.Errorf("%s: %s type %v, want container", format, name, inst["type"])
		}
		state, ok := inst["state"].(map[string]any)
		if !ok {
			t.Errorf("%s: %s has no state object: %v", format, name, inst["state"])
			continue
		}
		if state["status"] != want {
			t.Errorf("%s: %s state.status %v, want %s", format, name, state["status"], want)
		}
		if name == "web1" {
			if pid, _ := strconv.ParseFloat(regexp.MustCompile(`\d+`).FindString(toString(state["pid"])), 64); pid <= 1 {
				t.Errorf("%s: web1 state.pid %v, want its init's host pid", format, state["pid"])
			}
		}
	}
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func keys[V any](m map[string]V) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}
