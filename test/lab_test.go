package test

import (
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// labSubnets picks n free 10.x.y.0/24 subnets: none on a host route, none the same.
func labSubnets(t *testing.T, n int) []string {
	t.Helper()
	routes, err := exec.Command("ip", "-4", "route", "show", "table", "all").CombinedOutput()
	if err != nil {
		t.Fatalf("ip route: %v: %s", err, routes)
	}
	var out []string
	for tries := 0; len(out) < n && tries < 200; tries++ {
		b := make([]byte, 2)
		_, _ = rand.Read(b)
		s := fmt.Sprintf("10.%d.%d.", 100+int(b[0])%100, b[1])
		if strings.Contains(string(routes), s) || strings.Contains(strings.Join(out, " "), s) {
			continue
		}
		out = append(out, s)
	}
	if len(out) < n {
		t.Fatal("no free subnets")
	}
	return out
}

// labFixture writes a scaled LABS.md example into a temp dir and returns the file's path.
type labFixture struct {
	dir, file, name, key string
	front, back          string // "10.a.b." prefixes
}

func newLabFixture(t *testing.T) *labFixture {
	t.Helper()
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	f := &labFixture{dir: t.TempDir(), name: "s" + hex.EncodeToString(b)}
	nets := labSubnets(t, 2)
	f.front, f.back = nets[0], nets[1]
	trackNetwork(f.name + "-front")
	trackNetwork(f.name + "-back")
	f.key = filepath.Join(f.dir, "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f.key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	if err := os.MkdirAll(filepath.Join(f.dir, "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "db", "app.conf"), []byte("port=5432\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.file = f.write(t, "lab.yaml", "")
	return f
}

// write writes the lab file with extra nodes appended under nodes:.
func (f *labFixture) write(t *testing.T, name, extraNodes string) string {
	t.Helper()
	src := fmt.Sprintf(`name: %[1]s
defaults:
  image: debian/12
  config: {limits.memory: 512MiB}
  ssh_keys: [%[2]s.pub]
networks:
  front: {ipv4: %[3]s1/24, nat: false, dns.domain: %[1]s.test}
  back:  {ipv4: %[4]s1/24, nat: false}
nodes:
  lb:
    nics: {eth0: {network: front, ipv4: %[3]s10}}
  web[1-3]:
    groups: [web]
    nics:
      eth0: {network: front}
      eth1: {network: back, ipv4: %[4]s11}
  db:
    packages: [python3]
    config: {limits.memory: 1GiB}
    nics: {eth0: {network: back, ipv4: %[4]s20}}
    files:
      - {source: ./db/app.conf, path: /etc/app/app.conf, mode: "0640"}
    run:
      - systemctl enable --now cron
      - echo run >> /root/runs
    depends_on: [lb]
  r1: {nics: {eth0: {network: back}}}
%[5]slinks:
  - endpoints: [r1:eth1, lb:eth1]
    ipv4: [10.0.12.1/30, 10.0.12.2/30]
checks:
  - {from: web1, ping: db}
  - {from: lb, tcp: web2:22}
`, f.name, f.key, f.front, f.back, extraNodes)
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// labStatus returns `lite lab status --format csv` rows by node name.
func labStatus(t *testing.T, d *Daemon, name string) map[string][]string {
	t.Helper()
	out := mustLite(t, d, "lab", "status", name, "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("lab status csv: %v\n%s", err, out)
	}
	m := map[string][]string{}
	for _, r := range rows {
		m[r[0]] = r
	}
	return m
}

func labObjects(t *testing.T, d *Daemon, name string) (insts, nets []string) {
	t.Helper()
	for _, row := range listCSV(t, d, "n") {
		if len(row) > 0 {
			if v := strings.TrimSpace(mustLite(t, d, "config", "get", row[0], "user.lite.lab")); v == name {
				insts = append(insts, row[0])
			}
		}
	}
	for _, l := range strings.Split(mustLite(t, d, "network", "list", "--format", "csv"), "\n") {
		if strings.HasPrefix(l, name+"-") {
			nets = append(nets, strings.Split(l, ",")[0])
		}
	}
	return insts, nets
}

func TestLab(t *testing.T) {
	d := startDaemon(t)
	f := newLabFixture(t)
	t.Cleanup(func() {
		d.Lite("lab", "down", f.name)
		dropHostsBlock(t, d.Dir)
	})
	// The steps build on each other, in this order: one lab, brought up once, then driven.
	for _, step := range []struct {
		name string
		run  func(t *testing.T, d *Daemon, f *labFixture)
	}{
		{"bad file changes nothing", labBadFile},
		{"name clash changes nothing", labNameClash},
		{"up killed part-way, next up finishes", labUpKilled},
		{"every node ready, with its addresses", labNodesReady},
		{"a second lab may not claim the first one's subnet", labSubnetClash},
		{"the host resolves node names", labHostNames},
		{"ssh with the lab's key", labSSHKey},
		{"files and run steps", labFilesAndRun},
		{"exec on a group and on the lab", labExec},
		{"inventory drives ansible, ssh-config drives ssh", labInventorySSHConfig},
		{"check", labCheck},
		{"point-to-point link, impaired, re-made after a restart", labLink},
		{"capture on a link and on a nic", labCapture},
		{"launch --wait returns a ready instance", labLaunchWait},
		{"second up changes nothing", labSecondUp},
		{"snapshot, restore, reset", labSnapshots},
		{"edits of profiles live, of nics and image with --recreate", labEdits},
		{"failed run step", labFailedRunStep},
		{"down removes the lab and nothing else", labDown},
	} {
		if !t.Run(step.name, func(t *testing.T) { step.run(t, d, f) }) && step.name == "up killed part-way, next up finishes" {
			t.Fatal("the lab is not up: the other steps would only fail after it")
		}
	}
}
