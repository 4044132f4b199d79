package lab

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"lite/profiles"
)

func (r *reader) buildLinks(lab *Lab, links []rawLink) {
	used := map[string]string{} // node:iface -> link path
	for _, rl := range links {
		if len(rl.ends) != 2 {
			r.add(rl.at, join(rl.path, "endpoints"), "required: exactly two endpoints (example: [r1:eth1, r2:eth1])")
			continue
		}
		l := Link{Impair: rl.impair, At: rl.at}
		ok := true
		for i, e := range rl.ends {
			ep, good := r.endpoint(lab, e, fmt.Sprintf("%s.endpoints[%d]", rl.path, i))
			if good {
				if other, dup := used[e.s]; dup {
					r.add(e.at, fmt.Sprintf("%s.endpoints[%d]", rl.path, i), "%s is already an end of %s", e.s, other)
					good = false
				}
				used[e.s] = rl.path
			}
			ok = ok && good
			l.Ends[i] = ep
		}
		if ok && l.Ends[0].Node == l.Ends[1].Node {
			r.add(rl.at, join(rl.path, "endpoints"), "both ends are on node %s; a link joins two nodes", l.Ends[0].Node)
			ok = false
		}
		if !r.linkAddrs(&l, rl) || !ok {
			continue
		}
		lab.Links = append(lab.Links, l)
	}
}

// endpoint checks "node:iface": the node exists and the interface is not one of its nics.
func (r *reader) endpoint(lab *Lab, e posString, path string) (Endpoint, bool) {
	node, iface, found := strings.Cut(e.s, ":")
	if !found {
		r.add(e.at, path, "%q is not NODE:IFACE (example: r1:eth1)", e.s)
		return Endpoint{}, false
	}
	n := lab.Node(node)
	if n == nil {
		r.add(e.at, path, "unknown node %q", node)
		return Endpoint{}, false
	}
	if err := profiles.IsInterfaceName(iface); err != nil {
		r.add(e.at, path, "%v", err)
		return Endpoint{}, false
	}
	for _, nic := range n.NICs {
		if nic.Name == iface {
			r.add(e.at, path, "node %s already has interface %s on network %s", node, iface, nic.Network)
			return Endpoint{}, false
		}
	}
	return Endpoint{Node: node, Iface: iface}, true
}

// linkAddrs checks a link's ipv4: none, or one address with prefix per end, in one subnet.
func (r *reader) linkAddrs(l *Link, rl rawLink) bool {
	if rl.ipv4 == nil {
		return true
	}
	path := join(rl.path, "ipv4")
	if len(rl.ipv4) != 2 {
		r.add(rl.at, path, "expected two addresses with prefix, one per endpoint (example: [10.0.12.1/30, 10.0.12.2/30])")
		return false
	}
	var pf [2]netip.Prefix
	for i, s := range rl.ipv4 {
		p, err := netip.ParsePrefix(s.s)
		if err != nil || !p.Addr().Is4() || p.Bits() < 8 || p.Bits() > 31 {
			r.add(s.at, path, "%q is not an IPv4 address with a prefix length from 8 to 31 (example: 10.0.12.1/30)", s.s)
			return false
		}
		if p.Bits() < 31 && (p.Addr() == p.Masked().Addr() || p.Addr() == lastAddr(p)) {
			r.add(s.at, path, "%s is the subnet's network or broadcast address", s.s)
			return false
		}
		pf[i] = p
		l.Ends[i].IPv4 = p.String()
	}
	if pf[0].Masked() != pf[1].Masked() || pf[0].Addr() == pf[1].Addr() {
		r.add(rl.ipv4[1].at, path, "the two ends need two different addresses in one subnet, found %s and %s", pf[0], pf[1])
		return false
	}
	return true
}

func (r *reader) buildChecks(lab *Lab, checks []Check) {
	for i, c := range checks {
		path := fmt.Sprintf("checks[%d]", i)
		switch {
		case lab.Node(c.From) == nil:
			r.add(c.At, join(path, "from"), "unknown node %q (a check runs from a node of the lab)", c.From)
			continue
		case (c.Ping == "") == (c.TCP == ""):
			r.add(c.At, path, "expected exactly one of ping: NODE|ADDRESS or tcp: NODE|ADDRESS:PORT")
			continue
		}
		if c.Ping != "" && !r.target(lab, c.Ping, c.At, join(path, "ping")) {
			continue
		}
		if c.TCP != "" {
			host, port, err := net.SplitHostPort(c.TCP)
			n, perr := strconv.Atoi(port)
			if err != nil || perr != nil || n < 1 || n > 65535 {
				r.add(c.At, join(path, "tcp"), "%q is not NODE:PORT or ADDRESS:PORT (example: web2:22)", c.TCP)
				continue
			}
			if !r.target(lab, host, c.At, join(path, "tcp")) {
				continue
			}
		}
		lab.Checks = append(lab.Checks, c)
	}
}

// target checks that a check's destination is a node of the lab or an IPv4 address.
func (r *reader) target(lab *Lab, s string, at Pos, path string) bool {
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		return true
	}
	if lab.Node(s) == nil {
		r.add(at, path, "%q is neither a node of the lab nor an IPv4 address", s)
		return false
	}
	return true
}

// buildDepends resolves depends_on (node names, groups or node keys as written, such as
// web[1-3]) to node names and refuses cycles.
func (r *reader) buildDepends(lab *Lab, raw []rawNode) {
	byKey := map[string][]string{}
	for _, n := range lab.Nodes {
		byKey[n.Spec] = append(byKey[n.Spec], n.Name)
		for _, g := range n.Groups {
			byKey[g] = append(byKey[g], n.Name)
		}
	}
	deps := map[string][]posString{}
	for _, rn := range raw {
		deps[rn.key] = rn.dependsOn
	}
	for i := range lab.Nodes {
		n := &lab.Nodes[i]
		set := map[string]bool{}
		for _, d := range deps[n.Spec] {
			names := byKey[d.s]
			if lab.Node(d.s) != nil {
				names = []string{d.s}
			}
			if len(names) == 0 {
				if n.Name == firstOf(lab, n.Spec) {
					r.add(d.at, join(join("nodes", n.Spec), "depends_on"), "unknown node or group %q", d.s)
				}
				continue
			}
			for _, name := range names {
				set[name] = true
			}
		}
		for name := range set {
			n.DependsOn = append(n.DependsOn, name)
		}
		sort.Strings(n.DependsOn)
	}
	if cycle := findCycle(lab); cycle != nil {
		first := lab.Node(cycle[0])
		r.add(first.At, join(join("nodes", first.Spec), "depends_on"), "depends_on makes a cycle: %s", strings.Join(cycle, " -> "))
	}
}

func firstOf(lab *Lab, spec string) string {
	for _, n := range lab.Nodes {
		if n.Spec == spec {
			return n.Name
		}
	}
	return ""
}

// findCycle returns one dependency cycle as a path (a -> b -> a), or nil.
func findCycle(lab *Lab) []string {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(name string) []string
	visit = func(name string) []string {
		state[name] = active
		stack = append(stack, name)
		for _, d := range lab.Node(name).DependsOn {
			switch state[d] {
			case active:
				for i, s := range stack {
					if s == d {
						return append(append([]string{}, stack[i:]...), d)
					}
				}
			case unseen:
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
		return nil
	}
	for _, n := range lab.Nodes {
		if state[n.Name] == unseen {
			if c := visit(n.Name); c != nil {
				return c
			}
		}
	}
	return nil
}
