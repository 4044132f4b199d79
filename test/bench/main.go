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
	net      string // the daemon's default network (bridge)
	table    string // its nftables table
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

	var launch, ipv4 []float64
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("b%d", i)
		t0 := time.Now()
		if _, err := b.lite("launch", "debian/12", name); err != nil {
			return err
		}
		if err := b.waitIPv4(name); err != nil {
			return err
		}
		ipv4 = append(ipv4, ms(time.Since(t0)))
		out, err := b.lite("exec", name, "--", "systemctl", "is-system-running", "--wait")
		if err != nil || strings.TrimSpace(out) != "running" {
			return fmt.Errorf("%s did not reach running: %q %v", name, out, err)
		}
		launch = append(launch, ms(time.Since(t0)))
	}
	b.add("launch (image present) -> systemd running", "ms", launch, "LXD 5.0 dir 2900-3500, btrfs 1160; liblxc floor 280-310")
	b.add("launch -> IPv4 shown in list", "ms", ipv4, "LXD 5.0 dir 2900-3400, btrfs 1040; floor 300")

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
	// A bridge and nft table of its own, without NAT: containers only talk to the host.
	b.net, b.table = "ltb"+suffix(), "lite_bench_"+suffix()
	b.daemon.Env = append(os.Environ(), "LITE_DIR="+b.dir, "LITE_DEFAULT_NETWORK="+b.net, "LITE_DEFAULT_NAT=false", "LITE_NFT_TABLE="+b.table)
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
		b.cleanNetwork()
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

// waitIPv4 polls lite list until it shows an IPv4 for name.
func (b *bench) waitIPv4(name string) error {
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out, err := b.lite("list", "-c", "n4", "--format", "csv", name)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(out, "\n") {
			if n, ip, ok := strings.Cut(l, ","); ok && n == name && strings.TrimSpace(ip) != "" {
				return nil
			}
		}
	}
	return fmt.Errorf("%s got no IPv4 within 60s", name)
}

// cleanNetwork removes the default network's dnsmasq, bridge and nft table, which outlive
// lited as the containers would.
func (b *bench) cleanNetwork() {
	if pidb, err := os.ReadFile(filepath.Join(b.dir, "networks", b.net, "dnsmasq.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(pidb))); err == nil && pid > 0 {
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if strings.Contains(string(cmd), b.dir) {
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	}
	_ = exec.Command("ip", "link", "del", b.net).Run()
	_ = exec.Command("nft", "delete", "table", "inet", b.table).Run()
}

var suffixOnce string

// suffix is a per-run random hex tag for names.
func suffix() string {
	if suffixOnce == "" {
		suffixOnce = strconv.FormatInt(time.Now().UnixNano()%0xffffff, 16)
	}
	return suffixOnce
}
