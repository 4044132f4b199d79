package network

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"lite/db"
	"lite/lxd-lite/netutil"
)

// Tunnel is a cluster network's VXLAN port on this member, and what the firewall keeps off it.
type Tunnel struct {
	Dev   string
	VNI   int
	Port  int
	Local netip.Addr
	Peers []netip.Addr // the other members: the only hosts that may send into the tunnel
	// The gateway every member has: its ARP, its frames and DHCP stay on each member.
	GatewayIP  netip.Addr // invalid: the network has no IPv4
	GatewayMAC net.HardwareAddr
}

// upTunnel joins a network's bridge to the other members' (cluster) or removes a tunnel left
// from when this host was one (single host).
func (m *Manager) upTunnel(n db.Network, s Settings) error {
	t, err := m.tunnelOf(n, s)
	if err != nil {
		return err
	}
	if t == nil {
		if c := m.clusterOf(); c != nil && c.LocalName() != "" {
			return nil // a member whose view is not read yet: leave its tunnel as it is
		}
		return netutil.DeleteLink(TunnelName(n.Name))
	}
	if t.GatewayMAC != nil {
		if err := netutil.SetMAC(n.Name, t.GatewayMAC); err != nil {
			return err
		}
	}
	v := netutil.VXLAN{Name: t.Dev, Bridge: n.Name, VNI: t.VNI, Local: t.Local, Port: t.Port, MTU: s.MTU}
	if _, err := netutil.EnsureVXLAN(v); err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	if err := netutil.SetRemotes(t.Dev, t.Peers); err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	return nil
}

// renderTunnelInput adds the inet input chain that lets only members send into lite's
// tunnels: a VXLAN packet for one of lite's VNIs from any other host is dropped before the
// kernel decapsulates it (the VNI sits at bits 96-119 of the UDP payload's start, counted from
// the UDP header). Other VXLAN users of the port (other VNIs) are left alone.
func renderTunnelInput(b *strings.Builder, nets []FirewallNet) {
	var rules []string
	for _, n := range nets {
		t := n.Tunnel
		if t == nil {
			continue
		}
		match := fmt.Sprintf("udp dport %d @th,96,24 %d", t.Port, t.VNI)
		if len(t.Peers) == 0 {
			rules = append(rules, match+" drop")
			continue
		}
		peers := make([]string, len(t.Peers))
		for i, p := range t.Peers {
			peers[i] = p.String()
		}
		rules = append(rules, fmt.Sprintf("%s ip saddr != { %s } drop", match, strings.Join(peers, ", ")))
	}
	if len(rules) == 0 {
		return
	}
	b.WriteString("\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n")
	for _, r := range rules {
		b.WriteString("\t\t" + r + "\n")
	}
	b.WriteString("\t}\n")
}

// renderTunnelPorts fills two chains of lite's bridge table that keep each member's own
// services on its side of the tunnel, in both directions: DHCP (each member serves its own
// slice of the range), ARP for the gateway address and every frame from or to the gateway MAC
// (every member has both, and answers for them locally only). Without tunnels the chains go.
func (f *Firewall) renderTunnelPorts(b *strings.Builder, nets []FirewallNet) {
	t := "bridge " + f.Table
	chains := [][2]string{{"tunnel_in", "prerouting"}, {"tunnel_out", "postrouting"}}
	any := false
	for _, n := range nets {
		any = any || n.Tunnel != nil
	}
	fmt.Fprintf(b, "add table %s\n", t)
	for _, c := range chains {
		fmt.Fprintf(b, "add chain %s %s { type filter hook %s priority filter; policy accept; }\n", t, c[0], c[1])
		if !any {
			fmt.Fprintf(b, "delete chain %s %s\n", t, c[0])
			continue
		}
		fmt.Fprintf(b, "flush chain %s %s\n", t, c[0])
	}
	if !any {
		return
	}
	for _, n := range nets {
		tn := n.Tunnel
		if tn == nil {
			continue
		}
		for _, c := range [][2]string{{"tunnel_in", "iifname"}, {"tunnel_out", "oifname"}} {
			rule := func(r string) { fmt.Fprintf(b, "add rule %s %s %s %q %s drop\n", t, c[0], c[1], tn.Dev, r) }
			rule("udp dport { 67, 68 }")
			if tn.GatewayIP.IsValid() {
				rule("ether saddr " + tn.GatewayMAC.String())
				rule("ether daddr " + tn.GatewayMAC.String())
				rule("arp saddr ip " + tn.GatewayIP.String())
				rule("arp daddr ip " + tn.GatewayIP.String())
			}
		}
	}
}
