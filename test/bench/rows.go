package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pollEvery is how often a launch row polls the system's list for an IPv4: the same for all.
const pollEvery = 20 * time.Millisecond

// bootLimit bounds one container's wait for systemd or an address.
const bootLimit = 3 * time.Minute

// sysRows says which of the expensive rows a system runs (see main.go's all).
type sysRows struct {
	density bool // the density row (lite; LXD with -lxd-density)
	restart bool // the restart row (on one LXD pool: it launches -restart containers)
	bursts  int  // repetitions of the burst row
}

// measure runs every selected row against s, then deletes what it launched.
func (r *run) measure(ctx context.Context, s system, sr sysRows) (err error) {
	name := s.Name()
	rows, rep := r.opts.rows, r.report
	fmt.Printf("== %s\n", name)
	spent := rep.stopwatch(name)
	var launched []string
	defer func() {
		for _, c := range launched {
			if derr := s.Delete(context.Background(), c); derr != nil && err == nil {
				err = derr
			}
		}
	}()
	cname := func(i int) string { return fmt.Sprintf("bench%d", i) }

	if rows["rss"] {
		if v, err := s.DaemonRSS(); err == nil {
			rep.add("rss-idle", name, []float64{v})
		} else {
			rep.na("rss-idle", name, err)
		}
	}

	// Slow rows. launch -> running is timed on launches nobody polls; launch -> IPv4 on other
	// launches, polling the system's list every pollEvery (a lite or lxc list every 20 ms
	// takes a good part of a core on this host, which would slow the boot it times).
	var running, ipv4 []float64
	next := 0
	for i := 0; i < r.opts.slow && rows["launch"]; i++ {
		c := cname(next)
		next++
		t, _, err := launchTimed(ctx, s, c, false)
		launched = append(launched, c)
		if err != nil {
			return fmt.Errorf("launch %s: %w", c, err)
		}
		running = append(running, t)
		fmt.Printf("   launch %s: running after %.2f s\n", c, t)
	}
	for i := 0; i < r.opts.slow && rows["ipv4"]; i++ {
		c := cname(next)
		next++
		_, ip, err := launchTimed(ctx, s, c, true)
		launched = append(launched, c)
		if err != nil {
			return fmt.Errorf("launch %s: %w", c, err)
		}
		ipv4 = append(ipv4, ip)
		fmt.Printf("   launch %s: IPv4 in list after %.2f s\n", c, ip)
	}
	for ; next < r.opts.slow; next++ {
		c := cname(next)
		err := s.Launch(ctx, c)
		launched = append(launched, c)
		if err == nil {
			err = waitRunning(ctx, s, c)
		}
		if err != nil {
			return fmt.Errorf("launch %s: %w", c, err)
		}
	}
	if rows["launch"] {
		rep.add("launch", name, running)
	}
	if rows["ipv4"] {
		rep.add("ipv4", name, ipv4)
	}
	spent("launch, ipv4")

	if rows["exec"] {
		v, err := timeN(ctx, r.opts.fast, func() error { return s.Exec(ctx, cname(0)) }, time.Millisecond)
		if err != nil {
			return fmt.Errorf("exec: %w", err)
		}
		rep.add("exec", name, v)
	}
	spent("exec")

	needMany := rows["list"] || rows["rss"] || rows["monitor"] || rows["disk"]
	if needMany {
		for i := next; i < r.opts.listN && ctx.Err() == nil; i++ {
			c := cname(i)
			err := s.Launch(ctx, c)
			launched = append(launched, c)
			if err == nil {
				err = waitRunning(ctx, s, c)
			}
			if err != nil {
				return fmt.Errorf("launch %s (of %d for list): %w", c, r.opts.listN, err)
			}
		}
		fmt.Printf("   %d running\n", len(launched))
	}
	if rows["list"] {
		if err := s.List(ctx); errors.Is(err, errNA) {
			rep.na("list", name, err)
		} else {
			v, err := timeN(ctx, r.opts.fast, func() error { return s.List(ctx) }, time.Millisecond)
			if err != nil {
				return fmt.Errorf("list: %w", err)
			}
			rep.add("list", name, v)
		}
	}
	spent(fmt.Sprintf("list (launching %d)", r.opts.listN))
	if needMany && (rows["disk"] || rows["rss"] || rows["monitor"]) {
		// Let boot-time activity settle before reading disk and memory.
		sleep(ctx, 5*time.Second)
	}
	if rows["disk"] {
		var v []float64
		for _, c := range launched {
			d, err := s.DiskMiB(c)
			if err != nil {
				return fmt.Errorf("disk of %s: %w", c, err)
			}
			v = append(v, d)
		}
		rep.add("disk", name, v)
	}
	if rows["rss"] {
		if v, err := s.DaemonRSS(); err == nil {
			rep.add("rss-busy", name, []float64{v})
		} else {
			rep.na("rss-busy", name, err)
		}
	}
	if rows["monitor"] {
		var v []float64
		for _, pid := range s.Monitors() {
			if m := rssMiB(pid); m > 0 {
				v = append(v, m)
			}
		}
		rep.add("monitor", name, v)
	}
	if rows["stop"] {
		var v []float64
		for i := 0; i < r.opts.slow && ctx.Err() == nil; i++ {
			t0 := time.Now()
			if err := s.Stop(ctx, cname(i)); err != nil {
				return fmt.Errorf("stop %s: %w", cname(i), err)
			}
			v = append(v, time.Since(t0).Seconds())
		}
		rep.add("stop", name, v)
	}
	if rows["copy"] && len(launched) < 2 {
		err := errors.New("n/a: select launch (or list) too, copies need containers")
		rep.na("copy", name, err)
		rep.na("snapshot", name, err)
	} else if rows["copy"] {
		if err := r.measureCopies(ctx, s, cname(0), launched[len(launched)-1], rows["stop"], &launched); err != nil {
			return err
		}
	}
	spent("disk, rss, monitor, stop, copy, snapshot")
	err = deleteAll(s, launched, nil)
	launched = nil
	if err != nil {
		return err
	}
	spent("delete")
	return r.labRows(ctx, s, sr, spent)
}

// launchTimed launches c and returns the seconds from the launch command's start to systemd
// "running" and to the first list that shows an IPv4 (polled beside the wait when withIP).
func launchTimed(ctx context.Context, s system, c string, withIP bool) (running, ip float64, err error) {
	t0 := time.Now()
	if err := s.Launch(ctx, c); err != nil {
		return 0, 0, err
	}
	var wg sync.WaitGroup
	var ipErr error
	if withIP {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ipErr = fmt.Errorf("%s: no IPv4 within %v", c, bootLimit)
			for deadline := time.Now().Add(bootLimit); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(pollEvery) {
				ok, err := s.HasIPv4(ctx, c)
				if err != nil {
					ipErr = err
					return
				}
				if ok {
					ip, ipErr = time.Since(t0).Seconds(), nil
					return
				}
			}
		}()
	}
	err = waitRunning(ctx, s, c)
	running = time.Since(t0).Seconds()
	wg.Wait()
	if err == nil {
		err = ipErr
	}
	return running, ip, err
}

func waitRunning(ctx context.Context, s system, c string) error {
	ctx, cancel := context.WithTimeout(ctx, bootLimit)
	defer cancel()
	return s.WaitRunning(ctx, c)
}

// timeN runs fn n times and returns each duration in unit.
func timeN(ctx context.Context, n int, fn func() error, unit time.Duration) ([]float64, error) {
	var v []float64
	for i := 0; i < n && ctx.Err() == nil; i++ {
		t0 := time.Now()
		if err := fn(); err != nil {
			return v, err
		}
		v = append(v, float64(time.Since(t0))/float64(unit))
	}
	return v, ctx.Err()
}

// density launches idle containers one by one until opts.density are running or one fails,
// recording list time, daemon RSS and memory per container as the count grows.
func (r *run) density(ctx context.Context, s system) (launched []string, err error) {
	fmt.Printf("   density: launching up to %d\n", r.opts.density)
	before := hostMemUsedMiB()
	reached, reason := 0, ""
	for i := 0; i < r.opts.density && ctx.Err() == nil; i++ {
		c := fmt.Sprintf("dense%d", i)
		err := s.Launch(ctx, c)
		launched = append(launched, c)
		if err == nil {
			err = waitRunning(ctx, s, c)
		}
		if err != nil {
			reason = fmt.Sprintf("container %d: %v", i+1, err)
			break
		}
		reached = i + 1
		if reached%10 == 0 {
			fmt.Printf("   density: %d running\n", reached)
		}
		if reached%25 == 0 || reached == r.opts.density {
			p := densityPoint{Running: reached}
			if v, err := timeN(ctx, 5, func() error { return s.List(ctx) }, time.Millisecond); err == nil {
				p.ListMs = median(v)
			}
			p.DaemonRSS, _ = s.DaemonRSS()
			p.HostMemPerContainerMiB = (hostMemUsedMiB() - before) / float64(reached)
			fmt.Printf("   density %d: list %.0f ms, daemon RSS %.1f MiB, host memory %.1f MiB per container\n",
				reached, p.ListMs, p.DaemonRSS, p.HostMemPerContainerMiB)
			r.report.densityAt(s.Name(), p)
		}
	}
	if ctx.Err() != nil {
		return launched, ctx.Err()
	}
	if reason == "" {
		reason = fmt.Sprintf("reached the target of %d", r.opts.density)
	}
	r.report.add("density", s.Name(), []float64{float64(reached)})
	if reached > 0 {
		r.report.add("density-mem", s.Name(), []float64{(hostMemUsedMiB() - before) / float64(reached)})
	}
	r.report.densityEnd(s.Name(), reached, reason)
	fmt.Printf("   density: %d running (%s)\n", reached, reason)
	return launched, nil
}

// hostMemUsedMiB is MemTotal - MemAvailable.
func hostMemUsedMiB() float64 {
	b, _ := os.ReadFile("/proc/meminfo")
	var total, avail float64
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "MemTotal:":
			total = v
		case "MemAvailable:":
			avail = v
		}
	}
	return (total - avail) / 1024
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// cloner is a system that can copy and snapshot containers (the floor cannot).
type cloner interface {
	Copy(ctx context.Context, src, dst string) error
	Snapshot(ctx context.Context, name, snap string) error
}

// measureCopies times copies of a stopped container and snapshots of a running one; the
// copies join launched, so they are deleted with the rest.
func (r *run) measureCopies(ctx context.Context, s system, stopped, running string, isStopped bool, launched *[]string) error {
	name, rep := s.Name(), r.report
	c, ok := s.(cloner)
	if !ok {
		rep.na("copy", name, errNA)
		rep.na("snapshot", name, errNA)
		return nil
	}
	if !isStopped {
		if err := s.Stop(ctx, stopped); err != nil {
			return fmt.Errorf("stop %s: %w", stopped, err)
		}
	}
	var cp, snap []float64
	for i := 0; i < r.opts.slow && ctx.Err() == nil; i++ {
		dst := fmt.Sprintf("benchcp%d", i)
		t0 := time.Now()
		if err := c.Copy(ctx, stopped, dst); err != nil {
			return fmt.Errorf("copy %s %s: %w", stopped, dst, err)
		}
		cp = append(cp, float64(time.Since(t0).Microseconds())/1000)
		*launched = append(*launched, dst)
		t0 = time.Now()
		if err := c.Snapshot(ctx, running, fmt.Sprintf("snap%d", i)); err != nil {
			return fmt.Errorf("snapshot %s: %w", running, err)
		}
		snap = append(snap, float64(time.Since(t0).Microseconds())/1000)
	}
	rep.add("copy", name, cp)
	rep.add("snapshot", name, snap)
	return nil
}
