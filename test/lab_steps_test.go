package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// labNodesReady: every node is running and provisioned, with the addresses the file gives.
func labNodesReady(t *testing.T, d *Daemon, f *labFixture) {
	st := labStatus(t, d, f.name)
	for _, n := range []string{"lb", "web1", "web2", "web3", "db", "r1"} {
		if r := st[n]; len(r) < 3 || r[1] != "RUNNING" || r[2] != "yes" {
			t.Errorf("node %s: %v, want RUNNING and provisioned", n, r)
		}
	}
	if !strings.Contains(st["web3"][3], f.back+"13 (eth1)") || !strings.Contains(st["web1"][3], f.front) {
		t.Errorf("web3 addresses %q: want %s13 on eth1 and a DHCP one on front", st["web3"][3], f.back)
	}
}

// labBadFile: bad file changes nothing.
func labBadFile(t *testing.T, d *Daemon, f *labFixture) {
	bad := strings.Replace(f.write(t, "bad.yaml", "  r2: {nics: {eth0: {network: back, ipv4: 10.255.0.1}}, colour: red}\n"), "", "", 1)
	_, stderr, code := d.Lite("lab", "up", "-f", bad)
	if code == 0 || !strings.Contains(stderr, bad+":") || !strings.Contains(stderr, "nodes.r2.colour: unknown key") ||
		!strings.Contains(stderr, "nodes.r2.nics.eth0.ipv4: node r2: 10.255.0.1 is outside the network's subnet") {
		t.Fatalf("bad file: exit %d, stderr:\n%s", code, stderr)
	}
	if insts, nets := labObjects(t, d, f.name); len(insts)+len(nets) != 0 {
		t.Fatalf("a bad file made %v %v", insts, nets)
	}
}

// labNameClash: name clash changes nothing.
func labNameClash(t *testing.T, d *Daemon, f *labFixture) {
	mustLite(t, d, "init", "debian/12", "r1")
	defer mustLite(t, d, "delete", "r1")
	_, stderr, code := d.Lite("lab", "up", "-f", f.file)
	if code == 0 || !strings.Contains(stderr, "instance r1 already exists and is not part of lab "+f.name) {
		t.Fatalf("clash: exit %d: %s", code, stderr)
	}
	if insts, nets := labObjects(t, d, f.name); len(insts)+len(nets) != 0 {
		t.Fatalf("a refused up made %v %v", insts, nets)
	}
}

// labSubnetClash: a second lab may not claim the first one's subnet; nothing of it is made.
func labSubnetClash(t *testing.T, d *Daemon, f *labFixture) {
	other := f.name + "x"
	trackNetwork(other + "-net")
	p := filepath.Join(f.dir, "other.yaml")
	src := fmt.Sprintf("name: %s\nnetworks:\n  net: {ipv4: %s1/24}\nnodes:\n  other1: {nics: {eth0: {network: net}}}\n", other, f.front)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := d.Lite("lab", "up", "-f", p)
	if code == 0 || !strings.Contains(stderr, "overlaps network "+f.name+"-front") {
		t.Fatalf("second lab on the first one's subnet: exit %d: %s", code, stderr)
	}
	if insts, nets := labObjects(t, d, other); len(insts)+len(nets) != 0 {
		t.Fatalf("a refused lab made %v %v", insts, nets)
	}
	if out := mustLite(t, d, "lab", "list", "--format", "csv"); strings.Contains(out, other+",") {
		t.Errorf("a refused lab is listed: %s", out)
	}
}

// labUpKilled: up killed part-way, next up finishes.
func labUpKilled(t *testing.T, d *Daemon, f *labFixture) {
	cmd := exec.Command(liteBin, "lab", "up", "-f", f.file)
	cmd.Env = append(os.Environ(), "LITE_DIR="+d.Dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "the first lab node exists", func() (bool, string) {
		insts, _ := labObjects(t, d, f.name)
		return len(insts) > 0, fmt.Sprint(insts)
	})
	d.Kill(t)
	if err := waitAfterKill(t, cmd); err == nil {
		t.Errorf("lite lab up succeeded although lited was killed under it")
	}
	d.Restart(t)
	stdout, stderr, code := d.Lite("lab", "up", "-f", f.file)
	if code != 0 {
		t.Fatalf("up after the kill: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "ssh root@"+f.front+"10") {
		t.Errorf("up's table has no ssh command for lb:\n%s", stdout)
	}
}

// labHostNames: the host resolves node names.
func labHostNames(t *testing.T, d *Daemon, f *labFixture) {
	out, err := exec.Command("getent", "hosts", "lb."+f.name+".test").Output()
	if err != nil || !strings.HasPrefix(string(out), f.front+"10 ") {
		t.Fatalf("getent hosts lb.%s.test: %v: %q", f.name, err, out)
	}
	out, err = exec.Command("ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20", "-i", f.key, "root@web2."+f.name+".test", "hostname").Output()
	if err != nil || strings.TrimSpace(string(out)) != "web2" {
		t.Fatalf("ssh root@web2.%s.test: %v: %s", f.name, err, out)
	}
}

// labSSHKey: ssh with the lab's key.
func labSSHKey(t *testing.T, d *Daemon, f *labFixture) {
	out, err := exec.Command("ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR", "-i", f.key, "root@"+f.front+"10", "hostname").Output()
	if err != nil || strings.TrimSpace(string(out)) != "lb" {
		t.Fatalf("ssh root@lb: %v: %s", err, out)
	}
}

// labFilesAndRun: files and run steps.
func labFilesAndRun(t *testing.T, d *Daemon, f *labFixture) {
	out := mustLite(t, d, "exec", "db", "--", "sh", "-c", "cat /etc/app/app.conf; stat -c %a /etc/app/app.conf; systemctl is-active cron; cat /root/runs")
	if out != "port=5432\n640\nactive\nrun\n" {
		t.Fatalf("db after provisioning:\n%s", out)
	}
}

// labExec: exec on a group and on the lab.
func labExec(t *testing.T, d *Daemon, f *labFixture) {
	out := mustLite(t, d, "lab", "exec", "web", "--", "sh", "-c", "hostname; systemctl is-system-running")
	for _, n := range []string{"web1", "web2", "web3"} {
		if !strings.Contains(out, n+" | "+n+"\n") {
			t.Errorf("lab exec web: no prefixed line of %s:\n%s", n, out)
		}
	}
	if strings.Contains(out, "lb |") || strings.Count(out, "\n") != 6 {
		t.Errorf("lab exec web ran elsewhere or lost lines:\n%s", out)
	}
	out, _, code := d.Lite("lab", "exec", f.name, "--", "sh", "-c", "test $(hostname) != db || exit 7")
	if code != 7 || out != "" {
		t.Errorf("lab exec on the lab: exit %d (want the worst, 7): %q", code, out)
	}
	_, stderr, code := d.Lite("lab", "exec", "nosuch", "--", "true")
	if code == 0 || !strings.Contains(stderr, `"nosuch" is neither a lab, a group nor a node`) {
		t.Errorf("lab exec nosuch: exit %d: %s", code, stderr)
	}
}

// labInventorySSHConfig: inventory drives ansible, ssh-config drives ssh.
func labInventorySSHConfig(t *testing.T, d *Daemon, f *labFixture) {
	inv := filepath.Join(f.dir, "inv.ini")
	if err := os.WriteFile(inv, []byte(mustLite(t, d, "lab", "inventory", "-f", f.file)), 0o644); err != nil {
		t.Fatal(err)
	}
	ansible := func(args ...string) ([]byte, error) {
		cmd := exec.Command("ansible", append([]string{"-i", inv}, args...)...)
		cmd.Env = append(os.Environ(), "ANSIBLE_HOST_KEY_CHECKING=False", "ANSIBLE_NOCOLOR=1", "HOME="+f.dir)
		return cmd.CombinedOutput()
	}
	// raw: the web nodes' base image has no python3.
	out, err := ansible("web", "-m", "raw", "-a", "hostname")
	if err != nil || strings.Count(string(out), "CHANGED") != 3 || !strings.Contains(string(out), "web2") {
		t.Fatalf("ansible -m raw over the inventory: %v\n%s", err, out)
	}
	// db's image has python3 baked in (packages:), so Ansible's modules run there over ssh.
	if out, err := ansible("db", "-m", "ping"); err != nil || !strings.Contains(string(out), `"ping": "pong"`) {
		t.Fatalf("ansible -m ping on db (python3 from packages:): %v\n%s", err, out)
	}
	if out, err := ansible("db", "-m", "copy", "-a", "content='copied over ssh\n' dest=/root/from-ansible"); err != nil || !strings.Contains(string(out), "CHANGED") {
		t.Fatalf("ansible -m copy on db: %v\n%s", err, out)
	}
	if out, err := ansible("db", "-m", "command", "-a", "cat /root/from-ansible"); err != nil || !strings.Contains(string(out), "copied over ssh") {
		t.Fatalf("ansible -m command on db: %v\n%s", err, out)
	}
	cfg := filepath.Join(f.dir, "ssh_config")
	if err := os.WriteFile(cfg, []byte(mustLite(t, d, "lab", "ssh-config", "-f", f.file)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command("ssh", "-F", cfg, "-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "web2", "hostname").Output()
	if err != nil || strings.TrimSpace(string(out)) != "web2" {
		t.Fatalf("ssh -F ssh-config web2: %v: %s", err, out)
	}
}

// labCheck: check.
func labCheck(t *testing.T, d *Daemon, f *labFixture) {
	out := mustLite(t, d, "lab", "check", "-f", f.file)
	if !strings.Contains(out, "ok    web1 ping db ("+f.back+"20)") || !strings.Contains(out, "ok    lb tcp web2:22 (") {
		t.Fatalf("lab check:\n%s", out)
	}
	src, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	failing := filepath.Join(f.dir, "failing.yaml")
	if err := os.WriteFile(failing, []byte(strings.Replace(string(src), "checks:\n", "checks:\n  - {from: lb, tcp: web2:23}\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := d.Lite("lab", "check", "-f", failing)
	if code == 0 || !strings.Contains(out, "FAIL  lb tcp web2:23") || !strings.Contains(stderr, "1 of 3 checks failed") {
		t.Fatalf("failing check: exit %d\n%s\n%s", code, out, stderr)
	}
}

// labLink: point-to-point link, impaired, re-made after a restart.
func labLink(t *testing.T, d *Daemon, f *labFixture) {
	out := mustLite(t, d, "exec", "r1", "--", "sh", "-c", "ip -4 -o addr show dev eth1; ping -c1 -W5 10.0.12.2 >/dev/null && echo reached")
	if !strings.Contains(out, "inet 10.0.12.1/30") || !strings.HasSuffix(out, "reached\n") {
		t.Fatalf("r1 eth1:\n%s", out)
	}
	if out := mustLite(t, d, "exec", "lb", "--", "ip", "-4", "-o", "addr", "show", "dev", "eth1"); !strings.Contains(out, "inet 10.0.12.2/30") {
		t.Fatalf("lb eth1: %s", out)
	}
	if !hostHasNetem(t) {
		// This kernel cannot impair at all: the command must say so, not pretend.
		_, stderr, code := d.Lite("lab", "impair", "-f", f.file, "r1:eth1", "delay=50ms")
		if code == 0 || !strings.Contains(stderr, "the host kernel has no netem qdisc") {
			t.Fatalf("impair on a kernel without netem: exit %d: %s", code, stderr)
		}
		t.Log("this kernel has no netem: checked the error; the RTT is measured on kernels that have it")
	} else {
		labImpairRTT(t, d, f)
	}
	// The link lives in the nodes' namespaces: a restart of lited leaves it alone.
	d.Restart(t)
	if out := mustLite(t, d, "exec", "r1", "--", "sh", "-c", "ping -c1 -W5 10.0.12.2 >/dev/null && echo reached"); out != "reached\n" {
		t.Errorf("link gone after lited restarted: %q", out)
	}
	// A restart destroys r1's namespace and the link with it; lited makes it again at start.
	mustLite(t, d, "restart", "r1")
	eventually(t, 60*time.Second, "the link is back after r1 restarted", func() (bool, string) {
		out, stderr, _ := d.Lite("exec", "r1", "--", "sh", "-c", "ping -c1 -W2 10.0.12.2 >/dev/null && echo reached")
		return out == "reached\n", out + stderr
	})
	if out := mustLite(t, d, "lab", "diff", "-f", f.file); !strings.Contains(out, "= link r1:eth1-lb:eth1") {
		t.Errorf("diff after the link came back:\n%s", out)
	}
}

// labLaunchWait: launch --wait returns a ready instance.
func labLaunchWait(t *testing.T, d *Daemon, f *labFixture) {
	mustLite(t, d, "launch", "debian/12", "waiter", "--wait")
	defer mustLite(t, d, "delete", "--force", "waiter")
	out := mustLite(t, d, "exec", "waiter", "--", "sh", "-c", "systemctl is-system-running; ss -Hltn 'sport = :22' | wc -l; ip -4 -o addr show dev eth0 | wc -l")
	lines := strings.Fields(out)
	if len(lines) != 3 || (lines[0] != "running" && lines[0] != "degraded") || lines[1] == "0" || lines[2] == "0" {
		t.Fatalf("right after launch --wait: %q", out)
	}
}

// labSecondUp: second up changes nothing.
func labSecondUp(t *testing.T, d *Daemon, f *labFixture) {
	pid := initPid(t, d, "db")
	out := mustLite(t, d, "lab", "diff", "-f", f.file)
	if !strings.Contains(out, "is up to date") || !strings.Contains(out, "= link r1:eth1-lb:eth1") {
		t.Fatalf("diff of an applied lab:\n%s", out)
	}
	mustLite(t, d, "lab", "up", "-f", f.file)
	if got := initPid(t, d, "db"); got != pid {
		t.Errorf("db restarted by a second up: init pid %d -> %d", pid, got)
	}
	if out := mustLite(t, d, "exec", "db", "--", "cat", "/root/runs"); out != "run\n" {
		t.Errorf("run steps ran again: %q", out)
	}
	// An edit of a node's limits is applied live: same init, new limit.
	src, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(f.dir, "limits.yaml")
	if err := os.WriteFile(edited, []byte(strings.Replace(string(src), "limits.memory: 1GiB", "limits.memory: 768MiB", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := mustLite(t, d, "lab", "diff", "-f", edited); !strings.Contains(out, "~ node db (config limits.memory=768MiB)") || strings.Contains(out, "+ ") {
		t.Errorf("diff after editing db's memory:\n%s", out)
	}
	mustLite(t, d, "lab", "up", "-f", edited)
	if got := strings.TrimSpace(mustLite(t, d, "config", "get", "db", "limits.memory")); got != "768MiB" {
		t.Errorf("db limits.memory after up: %q", got)
	}
	if got := initPid(t, d, "db"); got != pid {
		t.Errorf("a limits change restarted db: init pid %d -> %d", pid, got)
	}
	if out := mustLite(t, d, "lab", "diff", "-f", edited); !strings.Contains(out, "is up to date") {
		t.Errorf("diff after applying the edit:\n%s", out)
	}
	mustLite(t, d, "lab", "up", "-f", f.file)
}

// labSnapshots: snapshot, restore, reset.
func labSnapshots(t *testing.T, d *Daemon, f *labFixture) {
	mustLite(t, d, "exec", "db", "--", "sh", "-c", "echo before > /root/state")
	mustLite(t, d, "lab", "snapshot", f.name, "before")
	mustLite(t, d, "exec", "db", "--", "sh", "-c", "echo after > /root/state")
	mustLite(t, d, "exec", "web2", "--", "rm", "/etc/hostname")
	out := mustLite(t, d, "lab", "restore", f.name, "before")
	t.Logf("%s", strings.TrimSpace(out))
	if got := mustLite(t, d, "exec", "db", "--", "cat", "/root/state"); got != "before\n" {
		t.Errorf("db after restore: %q", got)
	}
	if _, _, code := d.Lite("exec", "web2", "--", "test", "-f", "/etc/hostname"); code != 0 {
		t.Errorf("web2's /etc/hostname not back after restore")
	}
	out = mustLite(t, d, "lab", "reset", f.name)
	t.Logf("%s", strings.TrimSpace(out))
	if _, _, code := d.Lite("exec", "db", "--", "test", "-e", "/root/state"); code == 0 {
		t.Errorf("reset kept a file made after provisioning")
	}
	if got := mustLite(t, d, "exec", "db", "--", "cat", "/root/runs"); got != "run\n" {
		t.Errorf("db after reset: runs %q, want the provisioning's one line", got)
	}
	for n, r := range labStatus(t, d, f.name) {
		if r[1] != "RUNNING" {
			t.Errorf("node %s after reset: %v", n, r)
		}
	}
	if out := mustLite(t, d, "exec", "r1", "--", "sh", "-c", "ping -c1 -W5 10.0.12.2 >/dev/null && echo reached"); out != "reached\n" {
		t.Errorf("link not back after reset: %q", out)
	}
}

// labFailedRunStep: failed run step.
func labFailedRunStep(t *testing.T, d *Daemon, f *labFixture) {
	edited := f.write(t, "edited.yaml", "  bad: {nics: {eth0: {network: back}}, run: [\"echo oops-from-bad; exit 3\"]}\n  after: {depends_on: [bad]}\n")
	out := mustLite(t, d, "lab", "diff", "-f", edited)
	if !strings.Contains(out, "+ node bad") || !strings.Contains(out, "+ node after") || strings.Contains(out, "+ node db") {
		t.Fatalf("diff after adding two nodes:\n%s", out)
	}
	_, stderr, code := d.Lite("lab", "up", "-f", edited)
	if code == 0 || !strings.Contains(stderr, `node bad: run "echo oops-from-bad; exit 3" exited with 3`) ||
		!strings.Contains(stderr, "oops-from-bad") || !strings.Contains(stderr, "node after: not provisioned: it depends on bad") {
		t.Fatalf("up with a failing run step: exit %d:\n%s", code, stderr)
	}
	if s := status(t, d, "after"); s != "" {
		t.Errorf("after was created although its dependency failed: %s", s)
	}
	mustLite(t, d, "lab", "up", "--prune", "-f", f.file)
	if s := status(t, d, "bad"); s != "" {
		t.Errorf("up --prune left bad: %s", s)
	}
}

// labDown: down removes the lab and nothing else.
func labDown(t *testing.T, d *Daemon, f *labFixture) {
	mustLite(t, d, "init", "debian/12", "bystander")
	defer mustLite(t, d, "delete", "bystander")
	if out := mustLite(t, d, "lab", "list", "--format", "csv"); !strings.HasPrefix(out, f.name+",READY,6,") {
		t.Errorf("lab list: %q", out)
	}
	mustLite(t, d, "lab", "down", f.name)
	if insts, nets := labObjects(t, d, f.name); len(insts)+len(nets) != 0 {
		t.Fatalf("down left %v %v", insts, nets)
	}
	if s := status(t, d, "bystander"); s != "STOPPED" {
		t.Errorf("down touched an instance outside the lab: %q", s)
	}
	if out := mustLite(t, d, "lab", "list", "--format", "csv"); out != "" {
		t.Errorf("lab list after down: %q", out)
	}
	if out, err := exec.Command("getent", "hosts", "lb."+f.name+".test").Output(); err == nil {
		t.Errorf("the host still resolves lb after down: %s", out)
	}
	if hosts, _ := os.ReadFile("/etc/hosts"); strings.Contains(string(hosts), d.Dir) {
		t.Errorf("down left the daemon's block in /etc/hosts:\n%s", hosts)
	}
	_, stderr, code := d.Lite("lab", "down", f.name)
	if code == 0 || !strings.Contains(stderr, "no lab") {
		t.Errorf("second down: exit %d: %s", code, stderr)
	}
}

// hostHasNetem probes, in a throwaway network namespace, whether the kernel has netem.
func hostHasNetem(t *testing.T) bool {
	t.Helper()
	ns := "labnetem" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	return exec.Command("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms").Run() == nil
}

// labImpairRTT impairs r1:eth1 and measures the RTT over the link (netem adds at least the
// delay on each end, so the minimum RTT is a floor, not a timing guess), then clears it.
func labImpairRTT(t *testing.T, d *Daemon, f *labFixture) {
	t.Helper()
	mustLite(t, d, "lab", "impair", "-f", f.file, "r1:eth1", "delay=50ms")
	out := mustLite(t, d, "exec", "r1", "--", "ping", "-c", "3", "-q", "10.0.12.2")
	var min, avg float64
	i := strings.Index(out, "rtt min/avg/max/mdev = ")
	if i < 0 {
		t.Fatalf("ping output: %s", out)
	}
	if _, err := fmt.Sscanf(out[i:], "rtt min/avg/max/mdev = %f/%f", &min, &avg); err != nil || min < 99 {
		t.Fatalf("RTT with delay=50ms on both ends: min %.1f ms (want >= 100): %v\n%s", min, err, out)
	}
	t.Logf("RTT over the impaired link: min %.1f ms, avg %.1f ms", min, avg)
	mustLite(t, d, "lab", "impair", "-f", f.file, "r1:eth1")
	if out := mustLite(t, d, "exec", "lb", "--", "tc", "qdisc", "show", "dev", "eth1"); strings.Contains(out, "netem") {
		t.Errorf("impair without values left netem: %s", out)
	}
}

// dropHostsBlock removes what a daemon left in /etc/hosts if the test failed before down.
func dropHostsBlock(t *testing.T, dir string) {
	data, err := os.ReadFile("/etc/hosts")
	if err != nil || !strings.Contains(string(data), "lite "+dir) {
		return
	}
	var kept []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "# BEGIN lite "+dir+" "):
			in = true
		case line == "# END lite "+dir:
			in = false
		case !in:
			kept = append(kept, line)
		}
	}
	if err := os.WriteFile("/etc/hosts", []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		t.Errorf("clean /etc/hosts: %v", err)
	}
}
