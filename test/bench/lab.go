package main

// Lab-scale rows (issue 15): a burst of launches at once, the management daemon restarted
// under many running containers, and delete --force of a running container. Density stays
// in rows.go. Each row deletes what it launched, also when it fails.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// restarter is a system whose management daemon can be restarted under running containers
// (the floor has no daemon).
type restarter interface {
	// StopDaemon stops the daemon the way a service manager does (SIGTERM) and returns once
	// it has exited; the containers keep running.
	StopDaemon(ctx context.Context) error
	// StartDaemon starts the daemon again on the same state; it returns once the process runs.
	StartDaemon(ctx context.Context) error
	// States is name -> upper-case state as one run of the system's list shows them.
	States(ctx context.Context) (map[string]string, error)
}

// setupParallel is how many launches run at once when a row only needs containers running
// (the restart row's), not timed.
const setupParallel = 4

// labRows measures the delete-force, burst, density, restart and restart-stop rows selected.
// A row that fails is recorded as not measured and the next row still runs. The restart row
// reuses the density row's containers when it has as many running.
func (r *run) labRows(ctx context.Context, s system, sr sysRows, spent func(string)) error {
	rows := r.opts.rows
	fail := func(row string, err error) {
		r.report.na(row, s.Name(), err)
		r.report.note(s.Name(), fmt.Errorf("%s: %w", row, err))
	}
	if rows["delete-force"] && ctx.Err() == nil {
		if err := r.deleteForce(ctx, s); err != nil {
			fail("delete-force", err)
		}
		spent("delete-force")
	}
	if rows["burst"] && sr.bursts > 0 && ctx.Err() == nil {
		if err := r.burst(ctx, s, sr.bursts); err != nil {
			fail("burst", err)
		}
		spent("burst")
	}
	var running []string
	defer func() {
		if err := deleteAll(s, running, nil); err != nil {
			r.report.note(s.Name(), err)
		}
		spent(fmt.Sprintf("delete (%d)", len(running)))
	}()
	if rows["density"] && sr.density && ctx.Err() == nil {
		// lited's default network is a /24 (253 addresses, as LXD's): the density target
		// needs room for more, which a user makes the same way.
		if w, ok := s.(interface {
			WidenNetwork(ctx context.Context, hosts int) error
		}); ok {
			if err := w.WidenNetwork(ctx, r.opts.density); err != nil {
				return err
			}
		}
		var err error
		if running, err = r.density(ctx, s); err != nil {
			return err
		}
		spent("density")
	}
	if rows["restart"] && sr.restart && ctx.Err() == nil {
		if err := r.restart(ctx, s, &running); err != nil {
			fail("restart", err)
		}
		spent("restart")
	} else if rows["restart"] && ctx.Err() == nil {
		why := errors.New("n/a: measured on one LXD pool (it launches -restart containers)")
		r.report.na("restart", s.Name(), why)
		r.report.na("restart-stop", s.Name(), why)
	}
	return ctx.Err()
}

// deleteAll deletes names, setupParallel at a time (best effort for those made says were not
// made: they may not exist; made nil means all were), and returns the first error of a
// container that was made.
func deleteAll(s system, names []string, made map[string]bool) error {
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, setupParallel)
	var wg sync.WaitGroup
	for _, c := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func(c string) {
			defer wg.Done()
			defer func() { <-sem }()
			err := s.Delete(context.Background(), c)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && (made == nil || made[c]) && first == nil {
				first = fmt.Errorf("delete %s: %w", c, err)
			}
		}(c)
	}
	wg.Wait()
	return first
}

// launchMany launches names, at most par at a time, each waited to systemd running; it
// returns each container's seconds from the start of the call to running, which containers
// its launches made (to delete), and the first error (all launches are waited for first).
func launchMany(ctx context.Context, s system, names []string, par int) ([]float64, map[string]bool, error) {
	t0 := time.Now()
	var mu sync.Mutex
	var each []float64
	var first error
	made := map[string]bool{}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, c := range names {
		wg.Add(1)
		go func(c string) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			err := s.Launch(ctx, c)
			mu.Lock()
			made[c] = err == nil // a failed one is still deleted, best effort
			mu.Unlock()
			if err == nil {
				err = waitRunning(ctx, s, c)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = fmt.Errorf("%s: %w", c, err)
				}
				return
			}
			each = append(each, time.Since(t0).Seconds())
		}(c)
	}
	wg.Wait()
	return each, made, first
}

// deleteForce times delete --force of a container running systemd, opts.slow times.
func (r *run) deleteForce(ctx context.Context, s system) (err error) {
	var v []float64
	for i := 0; i < r.opts.slow && ctx.Err() == nil; i++ {
		c := fmt.Sprintf("benchdf%d", i)
		if err := s.Launch(ctx, c); err != nil {
			_ = s.Delete(context.Background(), c)
			return fmt.Errorf("launch %s: %w", c, err)
		}
		if err := waitRunning(ctx, s, c); err != nil {
			_ = s.Delete(context.Background(), c)
			return fmt.Errorf("launch %s: %w", c, err)
		}
		t0 := time.Now()
		if err := s.Delete(ctx, c); err != nil {
			return fmt.Errorf("delete --force %s: %w", c, err)
		}
		v = append(v, time.Since(t0).Seconds())
		fmt.Printf("   delete --force %s (running): %.2f s\n", c, v[len(v)-1])
	}
	r.report.add("delete-force", s.Name(), v)
	return ctx.Err()
}

// burst launches opts.burst containers at once and times until all run systemd, reps times;
// the containers are deleted (untimed) after each burst.
func (r *run) burst(ctx context.Context, s system, reps int) error {
	var totals []float64
	for rep := 0; rep < reps && ctx.Err() == nil; rep++ {
		names := make([]string, r.opts.burst)
		for i := range names {
			names[i] = fmt.Sprintf("burst%d-%d", rep, i)
		}
		t0 := time.Now()
		each, made, err := launchMany(ctx, s, names, len(names))
		total := time.Since(t0).Seconds()
		if derr := deleteAll(s, names, made); err == nil {
			err = derr
		}
		if err != nil {
			return fmt.Errorf("burst of %d (%d running when it failed): %w", len(names), len(each), err)
		}
		totals = append(totals, total)
		fmt.Printf("   burst of %d: all running after %.2f s (first %.2f s, median %.2f s)\n",
			len(names), total, minOf(each), median(each))
	}
	r.report.add("burst", s.Name(), totals)
	return ctx.Err()
}

func minOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

// restart has opts.restart containers running (the first of *running when it holds enough,
// the rest deleted; else it launches them into *running), then opts.slow times stops the
// daemon and times its start until the list answers with every container RUNNING (adopted).
// The caller deletes *running.
func (r *run) restart(ctx context.Context, s system, running *[]string) (err error) {
	rs, ok := s.(restarter)
	if !ok {
		r.report.na("restart", s.Name(), errNA)
		r.report.na("restart-stop", s.Name(), errNA)
		return nil
	}
	var names []string
	if len(*running) >= r.opts.restart {
		names = (*running)[:r.opts.restart]
		extra := (*running)[r.opts.restart:]
		fmt.Printf("   restart: keeping %d of the %d running, deleting the rest\n", len(names), len(*running))
		*running = names
		if err := deleteAll(s, extra, map[string]bool{}); err != nil {
			r.report.note(s.Name(), err)
		}
	} else {
		// Best effort: the density row's last one may be the launch that failed.
		if err := deleteAll(s, *running, map[string]bool{}); err != nil {
			r.report.note(s.Name(), err)
		}
		*running = nil
		for i := 0; i < r.opts.restart; i++ {
			names = append(names, fmt.Sprintf("benchrs%d", i))
		}
		fmt.Printf("   restart: launching %d (%d at a time)\n", len(names), setupParallel)
		_, made, err := launchMany(ctx, s, names, setupParallel)
		var failed []string
		for _, c := range names {
			if made[c] {
				*running = append(*running, c)
			} else {
				failed = append(failed, c)
			}
		}
		_ = deleteAll(s, failed, made) // best effort: a failed launch may have left it
		if err != nil {
			return err
		}
	}
	var ready, stops []float64
	for rep := 0; rep < r.opts.slow && ctx.Err() == nil; rep++ {
		t0 := time.Now()
		if err := rs.StopDaemon(ctx); err != nil {
			return err
		}
		stopped := time.Since(t0).Seconds()
		t1 := time.Now()
		if err := rs.StartDaemon(ctx); err != nil {
			return err
		}
		api, err := waitAdopted(ctx, rs, names)
		if err != nil {
			return err
		}
		all := time.Since(t1).Seconds()
		fmt.Printf("   restart with %d running: stop %.2f s; start -> API %.2f s, all adopted %.2f s\n", len(names), stopped, api, all)
		ready, stops = append(ready, all), append(stops, stopped)
	}
	r.report.add("restart", s.Name(), ready)
	r.report.add("restart-stop", s.Name(), stops)
	return ctx.Err()
}

// waitAdopted polls the list until it answers (API ready: the seconds returned) and then
// until it shows every name RUNNING.
func waitAdopted(ctx context.Context, rs restarter, names []string) (api float64, err error) {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, bootLimit)
	defer cancel()
	last := errors.New("no answer")
	for ; ctx.Err() == nil; time.Sleep(pollEvery) {
		st, err := rs.States(ctx)
		if err != nil {
			last = err
			continue
		}
		if api == 0 {
			api = time.Since(t0).Seconds()
		}
		missing := 0
		for _, c := range names {
			if st[c] != "RUNNING" {
				missing++
			}
		}
		if missing == 0 {
			return api, nil
		}
		last = fmt.Errorf("%d of %d not shown RUNNING", missing, len(names))
	}
	return api, fmt.Errorf("daemon restarted: not all adopted within %v: %v", bootLimit, last)
}
