package main

// The lab row (issue 14): a generated lab (labgen.go) brought up from nothing, reset and
// taken down, by lite (lite lab up -f F, lite lab reset, lite lab down) and by LXD 5.0 on
// each pool (the same work as a script of lxc calls, lablxd.go). Not measured on the floor:
// bare liblxc has no networks, snapshots or labs to compare with.
//
// The row is not in the default -rows: a full make bench with -density 300 is to finish in
// under 30 minutes, and its default rows already launch hundreds of containers on lite and
// on two LXD pools (density, restart's 200, burst), while the 30-node lab alone took 14
// minutes in its first run (LXD dir 6.6, btrfs 4.0, lite 2.2, on a loaded host): on dir each
// node's snapshot, restore and delete copy or remove a whole rootfs. Select it with
// -rows lab, or name it in a full run's -rows.

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// labTimeout bounds one phase (up, reset or down) of the lab on one system.
const labTimeout = 20 * time.Minute

// labLab is the run's lab: generated once, so lite and every LXD pool build the same one.
func (r *run) labLab(ctx context.Context) (*labSpec, string, error) {
	if r.lab != nil {
		return r.lab, r.labDir, nil
	}
	var subnets []string
	for i := 0; i < labNets+1; i++ {
		s, err := freeSubnet(ctx)
		if err != nil {
			return nil, "", err
		}
		subnets = append(subnets, s)
	}
	spec, err := genLab("bl"+suffix(), r.opts.labNodes, subnets)
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "lite-bench-lab-")
	if err != nil {
		return nil, "", err
	}
	r.clean.add("remove "+dir, func(context.Context) { _ = os.RemoveAll(dir) })
	if err := os.MkdirAll(filepath.Dir(r.opts.out), 0o755); err != nil {
		return nil, "", err
	}
	for name, body := range map[string]string{"lab.yaml": spec.yaml(), "lab-lxd.sh": spec.lxdScript(lxdImage)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return nil, "", err
		}
		// A copy beside the results, to read or run again by hand (the run's subnets).
		keep := strings.TrimSuffix(r.opts.out, ".json") + "-" + name
		if err := os.WriteFile(keep, []byte(body), 0o644); err != nil {
			return nil, "", err
		}
	}
	r.lab, r.labDir = spec, dir
	r.report.remark(fmt.Sprintf("lab: %d nodes, %d networks, %d links (%s); lite and the LXD script do up %d nodes at a time, reset and down %d, the links one by one; LXD script: %s",
		len(spec.Nodes), len(spec.Nets), len(spec.Links), strings.TrimSuffix(r.opts.out, ".json")+"-lab.yaml",
		labUpParallel, labResetParallel, strings.TrimSuffix(r.opts.out, ".json")+"-lab-lxd.sh"))
	return spec, dir, nil
}

// labPhases are what a system does with the lab: each returns once its phase is done.
type labPhases struct {
	up, reset, down func(ctx context.Context) error
	// ready returns once the system's list shows every node's static address (after up and
	// reset, timed with them).
	ready func(ctx context.Context) error
	// verify checks, untimed, that the lab is what it should be: the run step's file and
	// every link carrying a ping.
	verify func(ctx context.Context) error
	// gone checks, untimed, that down left no node and no bridge.
	gone func(ctx context.Context) error
}

// checkedBy fills ready, verify and gone with checks through cli, a command line that takes
// lxc's arguments (lite's and LXD's both do).
func (p labPhases) checkedBy(spec *labSpec, cli func(ctx context.Context, args ...string) (string, error)) labPhases {
	p.ready = func(ctx context.Context) error {
		return waitAddrs(ctx, spec, func(ctx context.Context) (string, error) {
			return cli(ctx, "list", "-c", "n4", "--format", "csv")
		})
	}
	p.verify = func(ctx context.Context) error {
		return spec.verify(ctx, func(ctx context.Context, node string, cmd ...string) (string, error) {
			return cli(ctx, append([]string{"exec", node, "--"}, cmd...)...)
		})
	}
	p.gone = func(ctx context.Context) error {
		out, err := cli(ctx, "list", "-c", "n", "--format", "csv")
		return spec.gone(out, err)
	}
	return p
}

// measureLab runs up, reset and down opts.labReps times on one system and records each.
func (r *run) measureLab(ctx context.Context, system string, p labPhases) error {
	var up, reset, down []float64
	// The host is shared and a lab phase is long: each row keeps the load at the start and
	// end of its (last) phase rather than at the time it is recorded.
	load := map[string]string{}
	for rep := 0; rep < r.opts.labReps && ctx.Err() == nil; rep++ {
		for _, ph := range []struct {
			name  string
			do    func(ctx context.Context) error
			ready bool
			into  *[]float64
		}{{"up", p.up, true, &up}, {"reset", p.reset, true, &reset}, {"down", p.down, false, &down}} {
			before := loadavg()
			fmt.Printf("   lab %s (load %s)\n", ph.name, before)
			pctx, cancel := context.WithTimeout(ctx, labTimeout)
			t0 := time.Now()
			err := ph.do(pctx)
			done := time.Since(t0).Seconds()
			if err == nil && ph.ready {
				err = p.ready(pctx)
			}
			total := time.Since(t0).Seconds()
			if err == nil && ph.ready {
				err = p.verify(pctx)
			} else if err == nil {
				err = p.gone(pctx)
			}
			cancel()
			if err != nil {
				return fmt.Errorf("lab %s: %w", ph.name, err)
			}
			*ph.into = append(*ph.into, total)
			load["lab-"+ph.name] = before + " -> " + loadavg()
			fmt.Printf("   lab %s: %.2f s (command done after %.2f s)\n", ph.name, total, done)
		}
	}
	for row, v := range map[string][]float64{"lab-up": up, "lab-reset": reset, "lab-down": down} {
		r.report.add(row, system, v)
		r.report.setLoad(row, system, load[row])
	}
	return ctx.Err()
}

// labLite measures the lab on lite.
func (r *run) labLite(ctx context.Context, l *lite) (err error) {
	spec, dir, err := r.labLab(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("== lite: lab of %d nodes\n", len(spec.Nodes))
	r.clean.add("lite lab down "+spec.Name, func(ctx context.Context) { l.labCleanup(ctx, spec) })
	file := filepath.Join(dir, "lab.yaml")
	// A failed phase leaves the lab half made: it goes at once, as the next system builds a
	// lab of the same names and subnets.
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			l.labCleanup(cctx, spec)
		}
	}()
	return r.measureLab(ctx, "lite", labPhases{
		up: func(ctx context.Context) error {
			_, err := l.lite(ctx, "lab", "up", "-f", file)
			return err
		},
		reset: func(ctx context.Context) error {
			_, err := l.lite(ctx, "lab", "reset", spec.Name)
			return err
		},
		down: func(ctx context.Context) error {
			_, err := l.lite(ctx, "lab", "down", spec.Name)
			return err
		},
	}.checkedBy(spec, l.lite))
}

// labCleanup takes the lab down if a failed row left it, and deletes what a failed down
// left: lite's stop at the end deletes instances and its own network, not the lab's.
func (l *lite) labCleanup(ctx context.Context, spec *labSpec) {
	_, _ = l.lite(ctx, "lab", "down", spec.Name)
	for i := range spec.Nets {
		if linkExists(spec.bridge(i)) {
			_, _ = l.lite(ctx, "network", "delete", spec.bridge(i))
		}
	}
}

// labLXD measures the lab on LXD with pool's profile.
func (r *run) labLXD(ctx context.Context, e *lxdEnv, pool string) (err error) {
	spec, dir, err := r.labLab(ctx)
	if err != nil {
		return err
	}
	system := "lxd-" + pool
	fmt.Printf("== %s: lab of %d nodes\n", system, len(spec.Nodes))
	r.clean.add("remove the LXD lab on "+pool, func(ctx context.Context) { e.labCleanup(ctx, spec) })
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			e.labCleanup(cctx, spec)
		}
	}()
	script := filepath.Join(dir, "lab-lxd.sh")
	phase := func(name string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := runCmd(ctx, []string{"LXD_DIR=" + e.state, "LXD_CONF=" + e.conf}, "bash", script, pool, name)
			return err
		}
	}
	return r.measureLab(ctx, system, labPhases{up: phase("up"), reset: phase("reset"), down: phase("down")}.checkedBy(spec, e.lxc))
}

// labCleanup deletes what a failed LXD lab left: its nodes (their link ends go with their
// network namespaces) and networks; a bridge LXD no longer knows is removed by hand.
func (e *lxdEnv) labCleanup(ctx context.Context, spec *labSpec) {
	for _, n := range spec.Nodes {
		_, _ = e.lxc(ctx, "delete", "--force", n.Name)
	}
	for i := range spec.Nets {
		_, _ = e.lxc(ctx, "network", "delete", spec.bridge(i))
		if linkExists(spec.bridge(i)) {
			_, _ = runCmd(ctx, nil, "ip", "link", "del", spec.bridge(i))
		}
	}
}

// waitAddrs polls list (name,addresses csv) until every node shows its static address.
func waitAddrs(ctx context.Context, spec *labSpec, list func(ctx context.Context) (string, error)) error {
	missing := len(spec.Nodes)
	for ctx.Err() == nil {
		out, err := list(ctx)
		if err != nil {
			return err
		}
		// One record per instance; LXD puts several addresses in one quoted field, one a
		// line ("10.1.2.3 (eth0)").
		cr := csv.NewReader(strings.NewReader(out))
		cr.FieldsPerRecord = -1
		recs, err := cr.ReadAll()
		if err != nil {
			return fmt.Errorf("list: %w", err)
		}
		shown := map[string][]string{}
		for _, rec := range recs {
			if len(rec) >= 2 {
				shown[rec[0]] = strings.Fields(rec[1])
			}
		}
		missing = 0
		for _, n := range spec.Nodes {
			if !slices.Contains(shown[n.Name], n.Addr.String()) {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		time.Sleep(pollEvery)
	}
	return fmt.Errorf("%d of %d nodes without their static address in the list: %w", missing, len(spec.Nodes), ctx.Err())
}

// verify checks in the nodes that each ran its step, and that each link carries a ping.
func (s *labSpec) verify(ctx context.Context, exec func(ctx context.Context, node string, cmd ...string) (string, error)) error {
	var errs []error
	for _, n := range s.Nodes {
		out, err := exec(ctx, n.Name, "cat", labRunFile)
		if err != nil || strings.TrimSpace(out) != n.Name {
			errs = append(errs, fmt.Errorf("node %s: run step's file %s: %q (%v)", n.Name, labRunFile, strings.TrimSpace(out), err))
		}
	}
	for _, l := range s.Links {
		a, b := s.Nodes[l.A].Name, s.Nodes[l.B].Name
		if _, err := exec(ctx, a, "ping", "-c1", "-W2", l.AddrB.Addr().String()); err != nil {
			errs = append(errs, fmt.Errorf("link %s-%s: %w", a, b, err))
		}
	}
	return errors.Join(errs...)
}

// gone checks a list (names) after down.
func (s *labSpec) gone(list string, err error) error {
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, n := range strings.Fields(list) {
		names[n] = true
	}
	var left []string
	for _, n := range s.Nodes {
		if names[n.Name] {
			left = append(left, n.Name)
		}
	}
	for i := range s.Nets {
		if linkExists(s.bridge(i)) {
			left = append(left, "bridge "+s.bridge(i))
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("down left %s", strings.Join(left, ", "))
	}
	return nil
}
