// Command bench measures lite against LXD 5.0 (dir pool, and btrfs on a loop file when
// available) and the raw liblxc floor (lxc-start of the same rootfs) on this machine, in one
// run, and prints min/median/max per system with the ratios lite/LXD and lite/floor.
//
//	go run ./test/bench [-only lite,lxd,floor] [-rows launch,ipv4,...] [-n 5] [-fast 20]
//	    [-burst 30] [-burst-reps 3] [-lxd-burst-reps 1] [-restart 200] [-density 20] [-lxd-density]
//	    [-lab-nodes 30] [-lab-reps 1]
//
// Row "cluster" also measures launch, exec and list on lite as a three-member cluster on this
// host (cluster.go: members in network namespaces), with -list containers per member.
//
// Row "lab" (only when named in -rows) brings a generated lab up, resets it and takes it
// down with lite lab and with the same work as a script of lxc calls on each LXD pool
// (labgen.go, labrow.go, lablxd.go).
//
// Everything it makes (its lited and LITE_DIR, LXD's daemon, state dir, pools, loop file and
// bridge, the floor's containers, bridge and dnsmasq) is removed at the end, also on failure
// or Ctrl-C. Files: lite.go, lxd.go and floor.go are the three systems, rows.go the
// measurements, report.go the table and bench/results.json.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// errNA marks a figure a system does not have (the floor has no daemon and no list).
var errNA = errors.New("n/a")

// system is one thing under test. Every method runs that system's own CLI, as a user would.
type system interface {
	Name() string
	// Launch creates and starts name from the image; it returns when the launch command does.
	Launch(ctx context.Context, name string) error
	// WaitRunning returns once systemd inside name reports "running" (an error for any other
	// final state).
	WaitRunning(ctx context.Context, name string) error
	// HasIPv4 runs the system's list once and reports whether it shows an IPv4 for name.
	HasIPv4(ctx context.Context, name string) (bool, error)
	Exec(ctx context.Context, name string) error
	List(ctx context.Context) error
	Stop(ctx context.Context, name string) error
	Delete(ctx context.Context, name string) error
	// DiskMiB is what name adds on disk over the shared image.
	DiskMiB(name string) (float64, error)
	// DaemonRSS is the management daemon's resident memory in MiB.
	DaemonRSS() (float64, error)
	// Monitors are the pids of the liblxc monitors of this system's containers.
	Monitors() []int
}

// cleanups run last-in first-out at exit, with a context of their own (the run's may be
// cancelled by then).
type cleanups []struct {
	what string
	fn   func(context.Context)
}

func (c *cleanups) add(what string, fn func(context.Context)) {
	*c = append(*c, struct {
		what string
		fn   func(context.Context)
	}{what, fn})
}

func (c *cleanups) run() {
	for i := len(*c) - 1; i >= 0; i-- {
		e := (*c)[i]
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		fmt.Fprintf(os.Stderr, "cleanup: %s\n", e.what)
		func() {
			defer func() {
				if r := recover(); r != nil {
					fmt.Fprintf(os.Stderr, "cleanup %s: %v\n", e.what, r)
				}
			}()
			e.fn(ctx)
		}()
		cancel()
	}
	*c = nil
}

type options struct {
	only     map[string]bool // lite, lxd, floor
	rows     map[string]bool
	slow     int // repetitions of slow rows (launch, stop)
	fast     int // repetitions of fast rows (exec, list)
	listN    int // containers running for the list and memory rows
	density  int // density target
	burst    int // containers launched at once in the burst row
	burstN   int // repetitions of the burst
	lxdBurst int // repetitions of the burst on each LXD pool (a burst there takes minutes)
	restart  int // containers running while the daemon restarts
	out      string
	lxdDense bool
	pprof    string // lited --pprof ADDR for the measured lited
	labNodes int    // nodes of the lab row's lab
	labReps  int    // repetitions of the lab row (up, reset, down)
}

var allRows = []string{"launch", "ipv4", "exec", "list", "stop", "copy", "copy-remote", "disk", "rss", "monitor",
	"delete-force", "burst", "restart", "density", "cluster", "lab"}

// defaultRows are the rows measured without -rows: all but lab, which is selected by name
// (labrow.go says why).
var defaultRows = slices.DeleteFunc(slices.Clone(allRows), func(r string) bool { return r == "lab" })

func parseSet(s string, valid []string, what string) (map[string]bool, error) {
	m := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		ok := false
		for _, v := range valid {
			ok = ok || v == f
		}
		if !ok {
			return nil, fmt.Errorf("unknown %s %q (valid: %s)", what, f, strings.Join(valid, ","))
		}
		m[f] = true
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("no %s selected", what)
	}
	return m, nil
}

func main() {
	only := flag.String("only", "lite,lxd,floor", "systems to measure, comma list of lite, lxd, floor")
	rows := flag.String("rows", strings.Join(defaultRows, ","), "rows to measure, comma list of "+strings.Join(allRows, ",")+" (lab only when named)")
	slow := flag.Int("n", 5, "repetitions of slow rows (launch, stop); fast rows use -fast")
	fast := flag.Int("fast", 20, "repetitions of fast rows (exec, list)")
	listN := flag.Int("list", 25, "containers running for the list, RSS and monitor rows")
	density := flag.Int("density", 20, "density run: launch until this many are running or one fails (lite; the issue's target is 300)")
	burst := flag.Int("burst", 30, "burst row: containers launched at once")
	burstN := flag.Int("burst-reps", 3, "repetitions of the burst row")
	lxdBurst := flag.Int("lxd-burst-reps", 1, "repetitions of the burst row on each LXD pool (0: none; one burst there takes minutes)")
	restart := flag.Int("restart", 200, "restart row: containers running while the daemon restarts (-n restarts)")
	lxdDense := flag.Bool("lxd-density", false, "also run the density row against LXD (slow: ~3 s per container on dir)")
	pprof := flag.String("lited-pprof", "", "run the measured lited with --pprof ADDR (loopback), to take Go profiles during the run")
	labNodes := flag.Int("lab-nodes", 30, "lab row: nodes of the generated lab (3 networks, min(10, N/2) links)")
	labReps := flag.Int("lab-reps", 1, "lab row: repetitions of up, reset and down (each costs LXD minutes)")
	out := flag.String("out", "bench/results.json", "where to write the results as JSON")
	flag.Parse()
	fail := func(msg string) {
		fmt.Fprintln(os.Stderr, "bench:", msg)
		os.Exit(2)
	}
	if flag.NArg() > 0 {
		fail("unexpected arguments: " + strings.Join(flag.Args(), " "))
	}
	o := options{slow: *slow, fast: *fast, listN: *listN, density: *density, out: *out, lxdDense: *lxdDense,
		burst: *burst, burstN: *burstN, lxdBurst: *lxdBurst, restart: *restart, pprof: *pprof, labNodes: *labNodes, labReps: *labReps}
	var err error
	if o.only, err = parseSet(*only, []string{"lite", "lxd", "floor"}, "system"); err != nil {
		fail(err.Error())
	}
	if o.rows, err = parseSet(*rows, allRows, "row"); err != nil {
		fail(err.Error())
	}
	if o.slow < 1 || o.fast < 1 || o.listN < o.slow || o.density < 1 || o.burst < 1 || o.burstN < 1 || o.lxdBurst < 0 || o.restart < 1 || o.labReps < 1 {
		fail("-n, -fast, -density, -burst, -burst-reps, -restart and -lab-reps must be >= 1 and -list >= -n")
	}
	if _, err := genLab("check", o.labNodes, []string{"10.0.0", "10.0.1", "10.0.2", "10.0.3"}); err != nil {
		fail(err.Error())
	}
	if os.Geteuid() != 0 {
		fail("bench must run as root (it starts lited, lxd and containers)")
	}

	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		for s := range sigs {
			fmt.Fprintf(os.Stderr, "\nbench: %v: stopping and cleaning up (further signals are ignored)\n", s)
			cancel()
		}
	}()

	r := &run{opts: o, report: newReport(o)}
	code := 0
	func() {
		defer func() {
			if p := recover(); p != nil {
				fmt.Fprintln(os.Stderr, "bench: panic:", p)
				code = 1
			}
		}()
		if err := r.all(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			code = 1
		}
	}()
	r.clean.run()
	r.report.print(os.Stdout)
	if err := r.report.write(o.out); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		code = 1
	}
	if ctx.Err() != nil {
		code = 130
	}
	os.Exit(code)
}

// run is one bench run: the systems set up so far and what they must undo.
type run struct {
	opts   options
	report *report
	clean  cleanups
	// lab and labDir are the lab row's lab and the temp dir of its file and LXD script,
	// made by the first system that measures it.
	lab    *labSpec
	labDir string
}

// measuresRows reports whether rows other than lab (which measure does not run) are selected.
func (r *run) measuresRows() bool {
	return slices.ContainsFunc(allRows, func(row string) bool { return row != "lab" && r.opts.rows[row] })
}

// all prepares the image with lite (always: LXD and the floor use its image and layer), then
// measures each selected system in turn, tearing each down before the next.
func (r *run) all(ctx context.Context) error {
	l, err := startLite(ctx, &r.clean, r.opts.pprof)
	if err != nil {
		return err
	}
	r.report.sysctls = l.sysctlChanges
	img, err := l.prepareImage(ctx)
	if err != nil {
		return err
	}
	r.report.image = img.fp
	r.report.stopwatch("lite")("start lited, image")
	if r.opts.only["lite"] {
		if r.measuresRows() {
			if err := r.measure(ctx, l, sysRows{density: true, restart: true, bursts: r.opts.burstN}); err != nil {
				return fmt.Errorf("lite: %w", err)
			}
		}
		if r.opts.rows["lab"] && ctx.Err() == nil {
			spent := r.report.stopwatch("lite")
			if err := r.labLite(ctx, l); err != nil {
				r.report.note("lite", err)
			}
			spent("lab")
		}
		if r.opts.rows["copy-remote"] && ctx.Err() == nil {
			if err := r.measureRemoteCopyLite(ctx, l); err != nil {
				r.report.note("lite", fmt.Errorf("copy between two daemons: %w", err))
			}
		}
	}
	if r.opts.only["lite"] && r.opts.rows["cluster"] && ctx.Err() == nil {
		spent := r.report.stopwatch(clusterSystem)
		if err := r.measureCluster(ctx, l.bin); err != nil {
			r.report.note(clusterSystem, err)
		}
		spent("cluster rows")
	}
	if r.opts.only["floor"] && r.opts.rows["lab"] {
		for _, row := range []string{"lab-up", "lab-reset", "lab-down"} {
			r.report.na(row, "floor", errors.New("n/a: not measured (bare liblxc has no networks, snapshots or labs)"))
		}
	}
	if r.opts.only["floor"] && r.measuresRows() && ctx.Err() == nil {
		f, err := startFloor(ctx, &r.clean, img)
		if err != nil {
			r.report.note("floor", err)
		} else if err := r.measure(ctx, f, sysRows{restart: true, bursts: r.opts.burstN}); err != nil {
			r.report.note("floor", err)
		}
	}
	if r.opts.only["lxd"] && ctx.Err() == nil {
		spent := r.report.stopwatch("lxd")
		env, err := startLXD(ctx, &r.clean, img)
		spent("start LXD, pools, image")
		if err != nil {
			r.report.note("lxd", err)
			return nil
		}
		if r.opts.rows["copy-remote"] && ctx.Err() == nil {
			if err := r.measureRemoteCopyLXD(ctx, env); err != nil {
				r.report.note("lxd-dir", fmt.Errorf("copy between two daemons: %w", err))
			}
		}
		for i, pool := range env.pools {
			if ctx.Err() != nil {
				break
			}
			// The restart row launches -restart containers: on the last pool only (btrfs when
			// the host has it), as LXD's restart adopts containers the same way on any pool.
			sr := sysRows{density: r.opts.lxdDense, restart: i == len(env.pools)-1, bursts: r.opts.lxdBurst}
			if r.measuresRows() {
				if err := r.measure(ctx, env.system(pool), sr); err != nil {
					r.report.note("lxd-"+pool, err)
				}
			}
			if r.opts.rows["lab"] && ctx.Err() == nil {
				spent := r.report.stopwatch("lxd-" + pool)
				if err := r.labLXD(ctx, env, pool); err != nil {
					r.report.note("lxd-"+pool, err)
				}
				spent("lab")
			}
		}
	}
	return ctx.Err()
}
