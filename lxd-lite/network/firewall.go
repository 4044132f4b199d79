package network

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync/atomic"
)

// FirewallNet is what the firewall needs of one network.
type FirewallNet struct {
	Bridge string
	Subnet netip.Prefix // invalid: no IPv4
	NAT    bool
	Tunnel *Tunnel // nil: no tunnel (a single host)
}

// Firewall keeps lite's NAT and forwarding rules in one nftables table of its own
// ("inet <Table>"), always replaced whole in one atomic nft transaction, so a restart never
// duplicates a rule and no other table is ever touched.
type Firewall struct {
	Table string
	// Run runs nft with the script on stdin; tests replace it.
	Run func(ctx context.Context, script string, args ...string) error
	// List runs nft with args and returns what it printed; tests replace it.
	List func(ctx context.Context, args ...string) (string, error)
	// headDeclared: this lited declared the nic filters' base chain (see FilterNIC).
	headDeclared atomic.Bool
}

// NewFirewall returns a firewall using the nft command.
func NewFirewall(table string) *Firewall {
	return &Firewall{Table: table, Run: runNft, List: listNft}
}

func listNft(ctx context.Context, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, "nft", args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("nft %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

func runNft(ctx context.Context, script string, args ...string) error {
	cmd := exec.CommandContext(ctx, "nft", args...)
	cmd.Stdin = strings.NewReader(script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nft %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Render returns the nft script that replaces the table with the rules for nets; with no
// network it only removes the table.
func (f *Firewall) Render(nets []FirewallNet) string {
	sort.Slice(nets, func(i, j int) bool { return nets[i].Bridge < nets[j].Bridge })
	var b strings.Builder
	// Declaring the table first makes the delete succeed whether it existed or not.
	fmt.Fprintf(&b, "table inet %s {}\ndelete table inet %s\n", f.Table, f.Table)
	if len(nets) == 0 {
		// The nic filters (bridge family, see nicfilter.go) go with the last network.
		fmt.Fprintf(&b, "table bridge %s {}\ndelete table bridge %s\n", f.Table, f.Table)
		return b.String()
	}
	fmt.Fprintf(&b, "table inet %s {\n", f.Table)
	b.WriteString("\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n")
	for _, n := range nets {
		if n.NAT {
			fmt.Fprintf(&b, "\t\tiifname %q accept\n\t\toifname %q accept\n", n.Bridge, n.Bridge)
			continue
		}
		// Without NAT a network is the host's and its containers' alone: nothing is routed
		// between it and any other interface, even on a host with IPv4 forwarding on.
		fmt.Fprintf(&b, "\t\tiifname %q oifname %q accept\n\t\tiifname %q drop\n\t\toifname %q drop\n", n.Bridge, n.Bridge, n.Bridge, n.Bridge)
	}
	b.WriteString("\t}\n")
	b.WriteString("\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n")
	for _, n := range nets {
		if n.NAT && n.Subnet.IsValid() {
			fmt.Fprintf(&b, "\t\tip saddr %s ip daddr != %s masquerade\n", n.Subnet.Masked(), n.Subnet.Masked())
		}
	}
	b.WriteString("\t}\n")
	renderTunnelInput(&b, nets)
	b.WriteString("}\n")
	f.renderTunnelPorts(&b, nets)
	return b.String()
}

// Apply replaces lite's table with the rules for nets. When a network NATs, IPv4 forwarding
// is turned on (as LXD does); it is never turned off, as something else may need it.
func (f *Firewall) Apply(ctx context.Context, nets []FirewallNet) error {
	if len(nets) == 0 {
		f.headDeclared.Store(false) // the script removes the bridge table too
	}
	if err := f.Run(ctx, f.Render(nets), "-f", "-"); err != nil {
		return fmt.Errorf("nftables table %s: %w", f.Table, err)
	}
	for _, n := range nets {
		if n.NAT {
			if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644); err != nil {
				return fmt.Errorf("enable IPv4 forwarding for NAT: %w", err)
			}
			break
		}
	}
	return nil
}
