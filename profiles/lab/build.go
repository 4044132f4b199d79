package lab

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	"lite/profiles"
)

// DefaultImage is the image of nodes when neither they nor defaults name one.
const DefaultImage = "debian/12"

// maxRange bounds one node range, so a typo (web[1-100000]) fails instead of planning a
// hundred thousand containers.
const maxRange = 256

var rangeRe = regexp.MustCompile(`^(.*)\[([0-9]+)-([0-9]+)\]$`)

// build checks everything that spans sections and returns the expanded lab.
func (r *reader) build(p *parsed, dir string) *Lab {
	lab := &Lab{Name: p.name}
	if err := checkLabName(p.name); err != nil && p.nameAt.Line > 0 {
		r.add(p.nameAt, "name", "%v", err)
	}
	r.checkSpec(p.defaults, p.defAt, "defaults")
	subnets := r.buildNetworks(lab, p.networks)
	r.buildNodes(lab, p, subnets, dir)
	r.buildLinks(lab, p.links)
	r.buildChecks(lab, p.checks)
	return lab
}

func (r *reader) buildNetworks(lab *Lab, nets []Network) map[string]netip.Prefix {
	subnets := map[string]netip.Prefix{}
	for _, n := range nets {
		path := join("networks", n.Name)
		if err := checkNetName(n.Name); err != nil {
			r.add(n.At, path, "%v", err)
		}
		if n.IPv4 == "" {
			n.IPv4 = "auto"
		}
		if n.IPv4 != "auto" && n.IPv4 != "none" {
			pfx, err := bridgeNet(n.IPv4)
			if err != nil {
				r.add(n.At, join(path, "ipv4"), "%v", err)
			} else {
				for other, o := range subnets {
					if o.Overlaps(pfx) {
						r.add(n.At, join(path, "ipv4"), "subnet %s overlaps network %s (%s)", pfx.Masked(), other, o.Masked())
					}
				}
				subnets[n.Name] = pfx
			}
		}
		if n.Domain != "" && !domainRe.MatchString(n.Domain) {
			r.add(n.At, join(path, "dns.domain"), "%q is not a DNS domain (example: shop.lite)", n.Domain)
		}
		lab.Networks = append(lab.Networks, n)
	}
	sort.Slice(lab.Networks, func(i, j int) bool { return lab.Networks[i].Name < lab.Networks[j].Name })
	return subnets
}

// expand turns a node key into node names: web[1-3] -> web1, web2, web3.
func expand(key string) ([]string, error) {
	m := rangeRe.FindStringSubmatch(key)
	if m == nil {
		return []string{key}, nil
	}
	lo, err1 := strconv.Atoi(m[2])
	hi, err2 := strconv.Atoi(m[3])
	if err1 != nil || err2 != nil || lo > hi || hi-lo >= maxRange {
		return nil, fmt.Errorf("%q is not a node range (example: web[1-3]; first <= last, at most %d nodes)", key, maxRange)
	}
	names := make([]string, 0, hi-lo+1)
	for i := lo; i <= hi; i++ {
		names = append(names, m[1]+strconv.Itoa(i))
	}
	return names, nil
}

// withDefaults fills what a node does not set from the defaults block. Config merges key by
// key; lists given by the node replace the default's whole.
func withDefaults(s, def NodeSpec) NodeSpec {
	out := s
	if out.Image == "" {
		out.Image = def.Image
	}
	if out.Image == "" {
		out.Image = DefaultImage
	}
	if out.Packages == nil {
		out.Packages = def.Packages
	}
	if out.Profiles == nil {
		out.Profiles = def.Profiles
	}
	if out.SSHKeys == nil {
		out.SSHKeys = def.SSHKeys
	}
	if out.User == "" {
		out.User = def.User
	}
	if out.Target == "" {
		out.Target = def.Target
	}
	cfg := map[string]string{}
	for k, v := range def.Config {
		cfg[k] = v
	}
	for k, v := range s.Config {
		cfg[k] = v
	}
	out.Config = cfg
	return out
}

func (r *reader) buildNodes(lab *Lab, p *parsed, subnets map[string]netip.Prefix, dir string) {
	seen := map[string]Pos{}
	addrs := map[netip.Addr]string{}
	for _, rn := range p.nodes {
		path := join("nodes", rn.key)
		names, err := expand(rn.key)
		if err != nil {
			r.add(rn.at, path, "%v", err)
			continue
		}
		r.checkSpec(rn.spec, rn.specAt, path)
		for _, g := range rn.groups {
			if !groupRe.MatchString(g) {
				r.add(rn.at, join(path, "groups"), "%q is not a group name (letters, digits, '_' and '-')", g)
			}
		}
		r.checkSources(rn, path, dir)
		for i, name := range names {
			if err := profiles.ValidateInstanceName(name); err != nil {
				r.add(rn.at, path, "%v", err)
				continue
			}
			if first, dup := seen[name]; dup {
				r.add(rn.at, path, "node %s is already defined at line %d", name, first.Line)
				continue
			}
			seen[name] = rn.at
			node := Node{Name: name, NodeSpec: withDefaults(rn.spec, p.defaults), Groups: rn.groups,
				Files: rn.files, Run: rn.run, Spec: rn.key, At: rn.at}
			node.NICs = r.nodeNICs(lab, rn, i, subnets, addrs)
			lab.Nodes = append(lab.Nodes, node)
		}
	}
	r.buildDepends(lab, p.nodes)
}

// nodeNICs gives the i-th node of a range its interfaces: a static address in a range is the
// first node's plus i.
func (r *reader) nodeNICs(lab *Lab, rn rawNode, i int, subnets map[string]netip.Prefix, addrs map[netip.Addr]string) []NIC {
	var out []NIC
	for _, nic := range rn.nics {
		path := join(join("nodes", rn.key), join("nics", nic.Name))
		if err := profiles.IsInterfaceName(nic.Name); err != nil {
			if i == 0 {
				r.add(nic.At, path, "%v", err)
			}
			continue
		}
		net := lab.Network(nic.Network)
		if net == nil {
			if i == 0 && nic.Network != "" {
				r.add(nic.At, join(path, "network"), "unknown network %q (define it under networks:)", nic.Network)
			}
			continue
		}
		if nic.IPv4 != "" {
			at := rn.nicIPAt[nic.Name]
			a, err := netip.ParseAddr(nic.IPv4)
			if err != nil || !a.Is4() {
				if i == 0 {
					r.add(at, join(path, "ipv4"), "%q is not an IPv4 address without prefix (example: 10.10.1.10)", nic.IPv4)
				}
				continue
			}
			a, _ = addOffset(a, i)
			pfx, ok := subnets[net.Name]
			switch {
			case !ok:
				r.add(at, join(path, "ipv4"), "network %s has ipv4: %s; a static address needs the network's subnet (example: ipv4: 10.10.2.1/24)", net.Name, net.IPv4)
				continue
			case hostAddrIn(a, pfx) != "":
				r.add(at, join(path, "ipv4"), "node %s: %s", rn.key, hostAddrIn(a, pfx))
				continue
			case addrs[a] != "":
				r.add(at, join(path, "ipv4"), "%s is already the address of %s", a, addrs[a])
				continue
			}
			addrs[a] = fmt.Sprintf("node %s", rn.key)
			nic.IPv4 = a.String()
		}
		out = append(out, nic)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// checkSources makes sure each file a node copies exists as a regular file on the host.
func (r *reader) checkSources(rn rawNode, path, dir string) {
	for i := range rn.files {
		f := &rn.files[i]
		if f.Source == "" || dir == "" {
			continue
		}
		if !filepath.IsAbs(f.Source) {
			f.Source = filepath.Join(dir, f.Source)
		}
		st, err := os.Stat(f.Source)
		if err != nil || !st.Mode().IsRegular() {
			r.add(rn.at, fmt.Sprintf("%s.files[%d].source", path, i), "%s is not a readable regular file", f.Source)
		}
	}
}
