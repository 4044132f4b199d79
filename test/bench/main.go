// Command bench measures lite's user-visible figures on this machine: launch to systemd
// "running", exec round trip, list, disk and memory per container, and the daemon's memory.
// It starts its own lited on a temporary state dir and removes everything it made.
//
//	go run ./test/bench [-n 10] [-exec 20] [-out bench/results.json]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"lite/client"
)

// Result is one measured figure.
type Result struct {
	Metric string    `json:"metric"`
	Unit   string    `json:"unit"`
	Min    float64   `json:"min"`
	Median float64   `json:"median"`
	Max    float64   `json:"max"`
	N      int       `json:"n"`
	Ref    string    `json:"reference,omitempty"`
	Values []float64 `json:"values"`
}

type bench struct {
	client   *client.Client
	bin, dir string
	daemon   *exec.Cmd
	results  []Result
}

func main() {
	n := flag.Int("n", 10, "containers to launch (list and density figures use them all)")
	reps := flag.Int("exec", 20, "repetitions of fast measurements (exec, list)")
	out := flag.String("out", "bench/results.json", "where to write the results as JSON")
	flag.Parse()
	if os.Geteuid() != 0 {
		fail("bench must run as root (it starts lited and containers)")
	}
	b := &bench{}
	code := 0
	if err := b.run(*n, *reps); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		code = 1
	}
	b.cleanup()
	b.print()
	if err := b.write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		code = 1
	}
	os.Exit(code)
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "bench:", msg)
	os.Exit(1)
}

func (b *bench) run(n, reps int) error {
	var err error
	if b.bin, err = os.MkdirTemp("", "lite-bench-bin-"); err != nil {
		return err
	}
	for _, c := range []string{"lited", "lite"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(b.bin, c), "./cmd/"+c).CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v: %s", c, err, out)
		}
	}
	if b.dir, err = os.MkdirTemp("", "lite-bench-"); err != nil {
		return err
	}
	if err := b.startDaemon(); err != nil {
		return err
	}
	// The first launch may build or unpack the image; it is not what users wait for later.
	fmt.Println("warming up: first launch (builds debian/12 if the cache is empty)")
	if _, err := b.lite("launch", "debian/12", "warm"); err != nil {
		return err
	}
	if _, err := b.lite("delete", "--force", "warm"); err != nil {
		return err
	}

	var launch []float64
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("b%d", i)
		t0 := time.Now()
		if _, err := b.lite("launch", "debian/12", name); err != nil {
			return err
		}
		out, err := b.lite("exec", name, "--", "systemctl", "is-system-running", "--wait")
		if err != nil || strings.TrimSpace(out) != "running" {
			return fmt.Errorf("%s did not reach running: %q %v", name, out, err)
		}
		launch = append(launch, ms(time.Since(t0)))
	}
	b.add("launch (image present) -> systemd running", "ms", launch, "LXD 5.0 dir 2900-3500, btrfs 1160; liblxc floor 280-310")

	b.add("exec NAME -- true, CLI round trip", "ms", b.timeCmd(reps, "exec", "b0", "--", "true"), "LXD 5.0 40; lxc-attach 7")
	b.add(fmt.Sprintf("list, %d running", n), "ms", b.timeCmd(reps, "list"), "LXD 5.0 101 (25 running)")

	// Let boot-time activity settle before reading memory.
	time.Sleep(5 * time.Second)
	var disk, mem, mon []float64
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("b%d", i)
		disk = append(disk, mib(duBytes(filepath.Join(b.dir, "containers", name, "upper"))))
		st, err := b.client.GetInstanceState(name)
		if err != nil {
			return err
		}
		mem = append(mem, float64(st.Memory.Usage)/(1<<20))
	}
	for _, pid := range monitorPids(b.dir) {
		mon = append(mon, rssMiB(pid))
	}
	b.add("disk per container after boot", "MiB", disk, "LXD 5.0 dir 287, btrfs 4.4")
	b.add("idle memory per container (cgroup)", "MiB", mem, "")
	b.add("liblxc monitor per container (RSS)", "MiB", mon, "LXD ~12; lxc-start ~2")
	b.add(fmt.Sprintf("lited RSS with %d running", n), "MiB", []float64{rssMiB(b.daemon.Process.Pid)}, "LXD 60-150")

	var stop []float64
	for i := 0; i < n && i < 5; i++ {
		t0 := time.Now()
		if _, err := b.lite("stop", fmt.Sprintf("b%d", i)); err != nil {
			return err
		}
		stop = append(stop, ms(time.Since(t0)))
	}
	b.add("stop (clean systemd shutdown)", "ms", stop, "LXD 5.0 1950; liblxc floor 650")
	return nil
}

func (b *bench) startDaemon() error {
	log, err := os.Create(filepath.Join(b.dir, "lited.log"))
	if err != nil {
		return err
	}
	b.daemon = exec.Command(filepath.Join(b.bin, "lited"))
	b.daemon.Env = append(os.Environ(), "LITE_DIR="+b.dir)
	b.daemon.Stdout, b.daemon.Stderr = log, log
	b.daemon.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := b.daemon.Start(); err != nil {
		return err
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := b.lite("list"); err == nil {
			b.client, err = client.Connect(filepath.Join(b.dir, "unix.socket"))
			return err
		}
	}
	return fmt.Errorf("lited did not come up; see %s", log.Name())
}

func (b *bench) lite(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(b.bin, "lite"), args...)
	cmd.Env = append(os.Environ(), "LITE_DIR="+b.dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("lite %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func (b *bench) timeCmd(reps int, args ...string) []float64 {
	var v []float64
	for i := 0; i < reps; i++ {
		t0 := time.Now()
		if _, err := b.lite(args...); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			continue
		}
		v = append(v, ms(time.Since(t0)))
	}
	return v
}

func (b *bench) cleanup() {
	if b.dir != "" && b.daemon != nil {
		out, _ := b.lite("list", "-c", "n", "--format", "csv")
		for _, name := range strings.Fields(out) {
			_, _ = b.lite("delete", "--force", name)
		}
		_ = b.daemon.Process.Signal(syscall.SIGTERM)
		_, _ = b.daemon.Process.Wait()
	}
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
	if b.bin != "" {
		_ = os.RemoveAll(b.bin)
	}
}

func (b *bench) add(metric, unit string, v []float64, ref string) {
	if len(v) == 0 {
		return
	}
	s := append([]float64{}, v...)
	sort.Float64s(s)
	b.results = append(b.results, Result{Metric: metric, Unit: unit, Min: s[0], Median: s[len(s)/2], Max: s[len(s)-1], N: len(s), Ref: ref, Values: v})
}

func (b *bench) print() {
	fmt.Printf("\n%-45s %10s %10s %10s %4s  %s\n", "metric", "min", "median", "max", "n", "reference")
	for _, r := range b.results {
		fmt.Printf("%-45s %10.1f %10.1f %10.1f %4d  %s (%s)\n", r.Metric, r.Min, r.Median, r.Max, r.N, r.Ref, r.Unit)
	}
}

func (b *bench) write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(map[string]any{"time": time.Now().UTC(), "results": b.results}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func mib(n int64) float64        { return float64(n) / (1 << 20) }

func duBytes(dir string) int64 {
	out, err := exec.Command("du", "-sb", dir).Output()
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
	return n
}

func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// monitorPids finds liblxc monitors of containers under dir ("[lxc monitor] DIR/containers NAME").
func monitorPids(dir string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		s := strings.ReplaceAll(string(cmd), "\x00", " ")
		if strings.HasPrefix(s, "[lxc monitor]") && strings.Contains(s, dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}
