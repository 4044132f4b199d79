// Package lab is the model of a lab file (lab.yaml): networks, nodes, point-to-point links and
// checks, parsed from YAML and validated whole before anything on the host changes. Errors
// point at the place in the file (file:line:col), name the key path and say what was expected.
// The package is pure: it reads the lab file and the files it names, nothing else.
package lab

import (
	"fmt"
	"strings"

	"lite/client/api"
)

// LabKey is the config key that marks every object a lab made; a lab file may not set it.
const LabKey = "user.lite.lab"

// Lab is a validated lab file with every node range expanded.
type Lab struct {
	// Name names the lab; every object lite makes for it carries user.lite.lab=<Name>.
	Name string
	// Networks are the lab's bridge networks, sorted by name.
	Networks []Network
	// Nodes are the lab's nodes in file order, ranges (web[1-3]) expanded.
	Nodes []Node
	// Links are point-to-point veth pairs between two nodes.
	Links []Link
	// Checks are the ping and tcp checks `lite lab check` runs.
	Checks []Check
}

// Pos is a place in the lab file.
type Pos struct {
	Line, Col int
}

// Network is one bridge network of the lab.
type Network struct {
	Name string
	// IPv4 is "auto", "none" or the bridge's address with its prefix (10.10.1.1/24).
	IPv4 string
	// NAT and DHCP default to lite's network defaults when nil.
	NAT, DHCP *bool
	// Domain is dns.domain; empty means lite's default.
	Domain string
	At     Pos
}

// NodeSpec is what a node (or the defaults block) says about its instance.
type NodeSpec struct {
	Image    string
	Packages []string
	Profiles []string
	Config   map[string]string
	SSHKeys  []string
	// User, when set, is created with the ssh keys instead of root getting them.
	User string
	// Target is the cluster member the node is placed on ("": lite places it). Linked
	// nodes share a member, so their targets must agree.
	Target string
}

// Node is one instance of the lab, after range expansion and with defaults applied.
type Node struct {
	Name string
	NodeSpec
	Groups    []string
	NICs      []NIC
	Files     []File
	Run       []string
	DependsOn []string
	// Spec is the key the node came from as written (web[1-3] for web2).
	Spec string
	At   Pos
}

// NIC is a node's interface on a lab network.
type NIC struct {
	Name    string
	Network string
	// IPv4 is a static address without prefix; empty means DHCP.
	IPv4 string
	At   Pos
}

// File is a file pushed into a node before its run steps.
type File struct {
	// Source is the host path, resolved against the lab file's directory.
	Source string
	Path   string
	Mode   string
	UID    int
	GID    int
}

// Endpoint is one end of a link: a node's interface.
type Endpoint struct {
	Node  string
	Iface string
	// IPv4 is the address with prefix for this end, or empty.
	IPv4 string
}

// Link is a point-to-point veth pair between two nodes, without a bridge.
type Link struct {
	Ends   [2]Endpoint
	Impair Impair
	At     Pos
}

// Impair is a netem impairment, applied in both directions; empty fields are unset.
type Impair struct {
	Delay  string `json:"delay,omitempty" yaml:"delay,omitempty"`
	Jitter string `json:"jitter,omitempty" yaml:"jitter,omitempty"`
	Loss   string `json:"loss,omitempty" yaml:"loss,omitempty"`
	Rate   string `json:"rate,omitempty" yaml:"rate,omitempty"`
}

// IsZero reports whether no impairment is set.
func (i Impair) IsZero() bool { return i == Impair{} }

// Check is one reachability check run from a node: a ping of a node or address, or a tcp
// connect to host:port.
type Check struct {
	From string
	Ping string
	TCP  string
	At   Pos
}

// Node returns the node of that name, or nil.
func (l *Lab) Node(name string) *Node {
	for i := range l.Nodes {
		if l.Nodes[i].Name == name {
			return &l.Nodes[i]
		}
	}
	return nil
}

// Network returns the network of that name, or nil.
func (l *Lab) Network(name string) *Network {
	for i := range l.Networks {
		if l.Networks[i].Name == name {
			return &l.Networks[i]
		}
	}
	return nil
}

// NetemArgs are the tc netem arguments of an impairment (delay D [JITTER] loss L rate R).
func (i Impair) NetemArgs() []string {
	var out []string
	if i.Delay != "" || i.Jitter != "" {
		d := i.Delay
		if d == "" {
			d = "0ms"
		}
		out = append(out, "delay", d)
		if i.Jitter != "" {
			out = append(out, i.Jitter)
		}
	}
	if i.Loss != "" {
		out = append(out, "loss", i.Loss)
	}
	if i.Rate != "" {
		out = append(out, "rate", i.Rate)
	}
	return out
}

// ParseImpair reads key=value arguments (delay=50ms loss=1%) into an impairment.
func ParseImpair(args []string) (Impair, error) {
	var im Impair
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return im, fmt.Errorf("%q is not key=value (delay=, jitter=, loss=, rate=): %w", a, api.ErrInvalid)
		}
		if err := checkImpair(k, v); err != nil {
			return im, fmt.Errorf("%s: %v: %w", k, err, api.ErrInvalid)
		}
		switch k {
		case "delay":
			im.Delay = v
		case "jitter":
			im.Jitter = v
		case "loss":
			im.Loss = v
		case "rate":
			im.Rate = v
		default:
			return im, fmt.Errorf("unknown impairment %q (use delay, jitter, loss, rate): %w", k, api.ErrInvalid)
		}
	}
	return im, nil
}

// NoNetem is the hint given when tc reports that the kernel lacks netem.
const NoNetem = "the host kernel has no netem qdisc (CONFIG_NET_SCH_NETEM), so links cannot be impaired on this host"

// NetemMissing reports whether tc's output says the netem qdisc does not exist.
func NetemMissing(tcOutput string) bool {
	return strings.Contains(tcOutput, "Specified qdisc kind is unknown")
}
