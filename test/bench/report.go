package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// rowDef is one row of the table.
type rowDef struct {
	key, metric, unit string
	goal              float64 // lite's goal; 0 = none
	atLeast           bool    // the goal is a minimum (density)
}

// The goals are issue 15's.
var rowDefs = []rowDef{
	{"launch", "launch (image present) -> systemd running", "s", 0.35, false},
	{"ipv4", "launch -> IPv4 shown in list", "s", 0.6, false},
	{"burst", "N launched at once -> all N systemd running", "s", 8, false},
	{"exec", "exec NAME -- true, CLI round trip", "ms", 10, false},
	{"list", "list, N running (-list N; cluster: N per member)", "ms", 20, false},
	{"stop", "stop (clean systemd shutdown)", "s", 1.0, false},
	{"delete-force", "delete --force of a running container", "s", 0.5, false},
	{"restart", "daemon restart with N running: start -> API ready, all adopted", "s", 2, false},
	{"restart-stop", "daemon stop (SIGTERM) with N running, containers kept", "s", 0, false},
	{"copy", "copy (stopped)", "ms", 100, false},
	{"copy-remote", "copy (stopped, 100 MB written) to a 2nd daemon", "s", 0, false},
	{"snapshot", "snapshot (running)", "ms", 100, false},
	{"disk", "disk per container after boot", "MiB", 20, false},
	{"rss-idle", "daemon RSS idle", "MiB", 30, false},
	{"rss-busy", "daemon RSS with 25 containers", "MiB", 40, false},
	{"monitor", "liblxc monitor per container (RSS)", "MiB", 3, false},
	{"density", "idle systemd containers booted to running", "count", 300, true},
	{"density-mem", "host memory per idle container at the density reached", "MiB", 12, false},
	// Issue 14's goals, for the generated lab (-lab-nodes, 30 by default).
	{"lab-up", "lab up from nothing -> every node ready, addressed, run, linked", "s", 15, false},
	{"lab-reset", "lab reset (provisioned snapshot) -> every node ready again", "s", 3, false},
	{"lab-down", "lab down: every node, network and link gone", "s", 5, false},
}

// labUpFactor is issue 14's other goal: lab up at least this many times faster than LXD dir.
const labUpFactor = 10

var systems = []string{"lite", clusterSystem, "lxd-dir", "lxd-btrfs", "floor"}

// Result is one row measured on one system.
type Result struct {
	Row    string    `json:"row"`
	Metric string    `json:"metric"`
	System string    `json:"system"`
	Unit   string    `json:"unit"`
	Min    float64   `json:"min"`
	Median float64   `json:"median"`
	Max    float64   `json:"max"`
	N      int       `json:"n"`
	Values []float64 `json:"values,omitempty"`
	NA     string    `json:"na,omitempty"`
	Load   string    `json:"loadavg,omitempty"` // when the row was done: the host is shared
}

type densityPoint struct {
	Running                int     `json:"running"`
	ListMs                 float64 `json:"list_ms"`
	DaemonRSS              float64 `json:"daemon_rss_mib"`
	HostMemPerContainerMiB float64 `json:"host_mem_per_container_mib"`
}

type densityRun struct {
	Points  []densityPoint `json:"points"`
	Reached int            `json:"reached"`
	Reason  string         `json:"reason"`
}

type report struct {
	mu      sync.Mutex
	opts    options
	start   time.Time
	results map[string]map[string]*Result // row -> system
	density map[string]*densityRun
	notes   []string
	sysctls []string
	image   string
	load    []string // /proc/loadavg at start and end: the host is shared
	commit  string   // the commit the run started from
	spent   []spentOn
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func newReport(o options) *report {
	return &report{opts: o, start: time.Now(), results: map[string]map[string]*Result{}, density: map[string]*densityRun{}, load: []string{loadavg()}, commit: gitCommit()}
}

func rowOf(key string) rowDef {
	for _, d := range rowDefs {
		if d.key == key {
			return d
		}
	}
	panic("unknown row " + key)
}

func (r *report) put(res *Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.results[res.Row] == nil {
		r.results[res.Row] = map[string]*Result{}
	}
	r.results[res.Row][res.System] = res
}

func (r *report) add(row, system string, v []float64) {
	if len(v) == 0 {
		return
	}
	d := rowOf(row)
	s := append([]float64{}, v...)
	sort.Float64s(s)
	r.put(&Result{Row: row, Metric: d.metric, System: system, Unit: d.unit, Min: s[0], Median: median(v), Max: s[len(s)-1], N: len(s), Values: v, Load: loadavg()})
}

func (r *report) na(row, system string, why error) {
	d := rowOf(row)
	r.put(&Result{Row: row, Metric: d.metric, System: system, Unit: d.unit, NA: why.Error()})
}

func (r *report) note(system string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, fmt.Sprintf("%s: %v", system, err))
	fmt.Fprintf(os.Stderr, "bench: %s: %v\n", system, err)
}

// setLoad replaces the load recorded with a row's result (a row that spans minutes says
// what the load was at its start and end).
func (r *report) setLoad(row, system, load string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if res := r.results[row][system]; res != nil && load != "" {
		res.Load = load
	}
}

// remark adds a line to the notes that is not an error (what a row did, and how).
func (r *report) remark(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, s)
}

func (r *report) densityAt(system string, p densityPoint) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.density[system] == nil {
		r.density[system] = &densityRun{}
	}
	r.density[system].Points = append(r.density[system].Points, p)
}

func (r *report) densityEnd(system string, reached int, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.density[system] == nil {
		r.density[system] = &densityRun{}
	}
	r.density[system].Reached, r.density[system].Reason = reached, reason
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64{}, v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func cell(res *Result) string {
	switch {
	case res == nil:
		return "-"
	case res.NA != "":
		return res.NA
	case res.N == 1:
		return num(res.Median)
	default:
		return fmt.Sprintf("%s [%s-%s] n=%d", num(res.Median), num(res.Min), num(res.Max), res.N)
	}
}

func ratio(a, b *Result) string {
	if a == nil || b == nil || a.NA != "" || b.NA != "" || b.Median == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a.Median/b.Median)
}

func verdict(d rowDef, res *Result) string {
	if res == nil || res.NA != "" || d.goal == 0 {
		return ""
	}
	if d.atLeast && res.Median >= d.goal || !d.atLeast && res.Median <= d.goal {
		return "ok"
	}
	return "MISS"
}

// print writes the table: median [min-max] n per system, the ratios and lite's goal.
func (r *report) print(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.load = append(r.load, loadavg())
	fmt.Fprintf(w, "\nlite vs LXD 5.0 vs raw liblxc floor — median [min-max] n=reps; image %s\n", r.image)
	fmt.Fprintf(w, "host load average at start %s, at end %s (shared 2-core host: figures move with it)\n\n", r.load[0], r.load[len(r.load)-1])
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tunit\t"+strings.Join(systems, "\t")+"\tlite/lxd-dir\tlite/lxd-btrfs\tlite/floor\tcluster3/lite\tlite goal\t")
	for _, d := range rowDefs {
		byS := r.results[d.key]
		if byS == nil {
			continue
		}
		cells := []string{d.metric, d.unit}
		for _, s := range systems {
			cells = append(cells, cell(byS[s]))
		}
		goal := ""
		if d.goal > 0 {
			op := "<="
			if d.atLeast {
				op = ">="
			}
			goal = fmt.Sprintf("%s %s %s", op, num(d.goal), verdict(d, byS["lite"]))
		}
		cells = append(cells, ratio(byS["lite"], byS["lxd-dir"]), ratio(byS["lite"], byS["lxd-btrfs"]), ratio(byS["lite"], byS["floor"]), ratio(byS[clusterSystem], byS["lite"]), goal)
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	_ = tw.Flush()
	if lab := r.results["lab-up"]; lab != nil && lab["lite"] != nil && lab["lxd-dir"] != nil && lab["lite"].NA == "" && lab["lxd-dir"].NA == "" && lab["lite"].Median > 0 {
		x := lab["lxd-dir"].Median / lab["lite"].Median
		v := "ok"
		if x < labUpFactor {
			v = "MISS"
		}
		fmt.Fprintf(w, "\nlab up: lite %.1fx faster than LXD dir (goal >= %dx) %s\n", x, labUpFactor, v)
	}
	for s, d := range r.density {
		fmt.Fprintf(w, "\ndensity (%s): %d running — %s\n", s, d.Reached, d.Reason)
		for _, p := range d.Points {
			fmt.Fprintf(w, "  %3d running: list %6.0f ms, daemon RSS %6.1f MiB, host memory %5.1f MiB per container\n",
				p.Running, p.ListMs, p.DaemonRSS, p.HostMemPerContainerMiB)
		}
	}
	if len(r.sysctls) > 0 {
		fmt.Fprintf(w, "\nlited raised these host sysctls at start (kept: lited needs them for density): %s\n", strings.Join(r.sysctls, "; "))
	}
	if len(r.spent) > 0 {
		fmt.Fprintf(w, "\nwall time of the run (%.1f min in all):\n", time.Since(r.start).Minutes())
		for _, sp := range r.spent {
			fmt.Fprintf(w, "  %-14s %-40s %7.1f s\n", sp.System, sp.What, sp.Seconds)
		}
	}
	for _, n := range r.notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// write appends this run to the history in path ({"runs": [...]}, oldest first; a file of
// the older one-run format becomes the first run). It never overwrites earlier runs: a file
// it cannot read as either format is left alone and the run goes to path.new.
func (r *report) write(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var list []*Result
	for _, d := range rowDefs {
		for _, s := range systems {
			if res := r.results[d.key][s]; res != nil {
				list = append(list, res)
			}
		}
	}
	host, _ := os.Hostname()
	o := r.opts
	this, err := json.Marshal(map[string]any{
		"time": r.start.UTC(), "end": time.Now().UTC(), "host": host, "commit": r.commit,
		"args": os.Args[1:], "image": r.image, "results": list, "density": r.density,
		"sysctls_raised_by_lited": r.sysctls, "notes": r.notes, "loadavg": r.load, "spent": r.spent,
		"options": map[string]any{"slow": o.slow, "fast": o.fast, "list": o.listN, "density": o.density,
			"burst": o.burst, "burst_reps": o.burstN, "lxd_burst_reps": o.lxdBurst, "restart": o.restart, "lxd_density": o.lxdDense,
			"lab_nodes": o.labNodes, "lab_reps": o.labReps},
	})
	if err != nil {
		return err
	}
	hist, err := readHistory(path)
	if err != nil {
		alt := path + ".new"
		_ = os.WriteFile(alt, append(this, '\n'), 0o644)
		return fmt.Errorf("%s: %w; this run was written to %s instead", path, err, alt)
	}
	hist.Runs = append(hist.Runs, this)
	data, err := json.MarshalIndent(hist, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	fmt.Printf("\nrun appended to %s (%d runs)\n", path, len(hist.Runs))
	return nil
}

// history is bench/results.json: every run, oldest first, each as the bench wrote it.
type history struct {
	Runs []json.RawMessage `json:"runs"`
}

// readHistory reads path; a missing file is an empty history, a file of the older one-run
// format (an object with "results") is a history of that one run.
func readHistory(path string) (history, error) {
	var h history
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return h, nil
	}
	if err != nil {
		return h, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return h, fmt.Errorf("not a results history (%v): move it aside", err)
	}
	if _, ok := probe["runs"]; ok {
		if err := json.Unmarshal(b, &h); err != nil {
			return h, fmt.Errorf("not a results history (%v): move it aside", err)
		}
		return h, nil
	}
	if _, ok := probe["results"]; ok {
		h.Runs = []json.RawMessage{json.RawMessage(bytes.TrimSpace(b))}
		return h, nil
	}
	return h, fmt.Errorf("neither a results history nor one run: move it aside")
}

// gitCommit is the commit the bench runs from, "+dirty" with uncommitted changes.
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += "+dirty"
	}
	return c
}

// stopwatch returns a function that records, under system, the time since its previous call
// (or since stopwatch) as spent on what: the run's own cost, to see where its minutes go.
func (r *report) stopwatch(system string) func(what string) {
	last := time.Now()
	return func(what string) {
		now := time.Now()
		r.mu.Lock()
		defer r.mu.Unlock()
		r.spent = append(r.spent, spentOn{System: system, What: what, Seconds: now.Sub(last).Seconds()})
		last = now
	}
}

// spentOn is the wall time a part of the run took.
type spentOn struct {
	System  string  `json:"system"`
	What    string  `json:"what"`
	Seconds float64 `json:"s"`
}
