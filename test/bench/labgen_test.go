package main

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	labfile "lite/profiles/lab"
)

// TestGenLab: the generated lab has the nodes asked for on three networks, min(10, N/2)
// links between distinct nodes, unique addresses inside their subnets, one run step per
// node, and lite's own parser accepts the file and reads the same lab back.
func TestGenLab(t *testing.T) {
	subnets := []string{"10.201.1", "10.201.8", "10.201.15", "10.201.22"}
	for _, tc := range []struct {
		nodes, links int
	}{
		{30, 10}, {1, 0}, {2, 1}, {7, 3}, {21, 10}, {100, 10},
	} {
		spec, err := genLab("bl1a2b3c", tc.nodes, subnets)
		if err != nil {
			t.Fatalf("%d nodes: %v", tc.nodes, err)
		}
		if len(spec.Nodes) != tc.nodes || len(spec.Nets) != 3 || len(spec.Links) != tc.links {
			t.Fatalf("%d nodes: got %d nodes, %d networks, %d links; want %d, 3, %d",
				tc.nodes, len(spec.Nodes), len(spec.Nets), len(spec.Links), tc.nodes, tc.links)
		}
		seen := map[netip.Addr]string{}
		use := func(a netip.Addr, who string, in netip.Prefix) {
			t.Helper()
			// in.Addr() is the bridge's address for a node, the network's for a bridge.
			if !in.Contains(a) || a == in.Masked().Addr() || a == in.Addr() || a.As4()[3] == 255 {
				t.Errorf("%d nodes: %s: %s is not a host address of %s", tc.nodes, who, a, in)
			}
			if other, dup := seen[a]; dup {
				t.Errorf("%d nodes: %s: %s is already %s's", tc.nodes, who, a, other)
			}
			seen[a] = who
		}
		for _, n := range spec.Nets {
			use(n.Gateway.Addr(), "bridge "+n.Name, n.Gateway.Masked())
		}
		for _, n := range spec.Nodes {
			use(n.Addr, n.Name, spec.Nets[n.Net].Gateway)
		}
		linked := map[int]bool{}
		for _, l := range spec.Links {
			if l.A == l.B || linked[l.A] || linked[l.B] {
				t.Errorf("%d nodes: link %s-%s: not two distinct nodes without another link", tc.nodes, spec.Nodes[l.A].Name, spec.Nodes[l.B].Name)
			}
			linked[l.A], linked[l.B] = true, true
			if l.AddrA.Bits() != 30 || l.AddrA.Masked() != l.AddrB.Masked() || l.AddrA.Addr().As4()[3]%4 != 1 || l.AddrB.Addr().As4()[3]%4 != 2 {
				t.Errorf("%d nodes: link %s-%s: %s and %s are not one /30", tc.nodes, spec.Nodes[l.A].Name, spec.Nodes[l.B].Name, l.AddrA, l.AddrB)
			}
			use(l.AddrA.Addr(), "link end", netip.PrefixFrom(l.AddrA.Masked().Addr(), 24))
			use(l.AddrB.Addr(), "link end", netip.PrefixFrom(l.AddrB.Masked().Addr(), 24))
		}

		src := spec.yaml()
		lab, err := labfile.Parse("lab.yaml", []byte(src), "")
		if err != nil {
			t.Fatalf("%d nodes: lite does not parse the file: %v\n%s", tc.nodes, err, src)
		}
		if lab.Name != spec.Name || len(lab.Nodes) != tc.nodes || len(lab.Networks) != 3 || len(lab.Links) != tc.links {
			t.Fatalf("%d nodes: parsed %s with %d nodes, %d networks, %d links", tc.nodes, lab.Name, len(lab.Nodes), len(lab.Networks), len(lab.Links))
		}
		for i, n := range lab.Nodes {
			want := spec.Nodes[i]
			if n.Name != want.Name || len(n.NICs) != 1 || n.NICs[0].IPv4 != want.Addr.String() || n.NICs[0].Network != spec.Nets[want.Net].Name {
				t.Errorf("%d nodes: parsed node %+v, want %s on %s at %s", tc.nodes, n, want.Name, spec.Nets[want.Net].Name, want.Addr)
			}
			if len(n.Run) != 1 || !strings.Contains(n.Run[0], labRunFile) || len(n.SSHKeys) != 0 {
				t.Errorf("%d nodes: node %s: run %q, ssh keys %q; want one run step and no keys", tc.nodes, n.Name, n.Run, n.SSHKeys)
			}
		}
		for i := range spec.Nets {
			if b := spec.bridge(i); len(b) > 15 {
				t.Errorf("bridge name %q is longer than 15 characters", b)
			}
		}
	}
}

// TestGenLabRefuses: sizes out of range and wrong subnets are errors, not a broken file.
func TestGenLabRefuses(t *testing.T) {
	good := []string{"10.201.1", "10.201.8", "10.201.15", "10.201.22"}
	for _, tc := range []struct {
		nodes   int
		subnets []string
	}{
		{0, good}, {-3, good}, {10000, good}, {30, good[:3]}, {30, []string{"10.201.1", "x", "10.201.15", "10.201.22"}},
	} {
		if _, err := genLab("bl", tc.nodes, tc.subnets); err == nil {
			t.Errorf("genLab(%d, %q) did not fail", tc.nodes, tc.subnets)
		}
	}
}

// TestLXDScript: the LXD script is valid bash and does the lab's work: three networks, every
// node through node-up with its network and address, every link.
func TestLXDScript(t *testing.T) {
	spec, err := genLab("bl1a2b3c", 30, []string{"10.201.1", "10.201.8", "10.201.15", "10.201.22"})
	if err != nil {
		t.Fatal(err)
	}
	src := spec.lxdScript("img")
	path := filepath.Join(t.TempDir(), "lab-lxd.sh")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bash", "-n", path).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v: %s\n%s", err, out, src)
	}
	if n := strings.Count(src, "lxc network create "); n != 3 {
		t.Errorf("%d lxc network create, want 3", n)
	}
	for _, n := range spec.Nodes {
		if !strings.Contains(src, fmt.Sprintf("[%s]=%s ", n.Name, spec.bridge(n.Net))) || !strings.Contains(src, fmt.Sprintf("[%s]=%s ", n.Name, n.Addr)) {
			t.Errorf("node %s: no network or address in the script", n.Name)
		}
	}
	for _, l := range spec.Links {
		if !strings.Contains(src, fmt.Sprintf("%q", fmt.Sprintf("%s %s %s %s", spec.Nodes[l.A].Name, l.AddrA, spec.Nodes[l.B].Name, l.AddrB))) {
			t.Errorf("link %s-%s missing", spec.Nodes[l.A].Name, spec.Nodes[l.B].Name)
		}
	}
}
