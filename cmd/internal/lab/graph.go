package lab

import (
	"fmt"
	"html"
	"strings"

	"lite/client/api"
	labfile "lite/profiles/lab"
)

// addr is how a nic's address is shown: its static address or "dhcp".
func addr(nic labfile.NIC) string {
	if nic.IPv4 == "" {
		return "dhcp"
	}
	return nic.IPv4
}

func linkAddr(e labfile.Endpoint) string {
	if e.IPv4 == "" {
		return e.Iface
	}
	return e.Iface + " " + e.IPv4
}

// Graph draws the lab in format dot, mermaid or svg: nodes, networks and links, with addresses.
func Graph(l *labfile.Lab, format string) (string, error) {
	switch format {
	case "dot", "":
		return graphDot(l), nil
	case "mermaid":
		return graphMermaid(l), nil
	case "svg":
		return graphSVG(l), nil
	}
	return "", fmt.Errorf("invalid graph format %q: use dot, mermaid or svg: %w", format, api.ErrInvalid)
}

func graphDot(l *labfile.Lab) string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %q {\n  node [shape=box];\n", l.Name)
	for _, n := range l.Networks {
		fmt.Fprintf(&b, "  %q [shape=ellipse, label=%q];\n", "net:"+n.Name, n.Name+"\n"+n.IPv4)
	}
	for _, n := range l.Nodes {
		fmt.Fprintf(&b, "  %q;\n", n.Name)
		for _, nic := range n.NICs {
			fmt.Fprintf(&b, "  %q -- %q [label=%q];\n", n.Name, "net:"+nic.Network, nic.Name+" "+addr(nic))
		}
	}
	for _, lk := range l.Links {
		fmt.Fprintf(&b, "  %q -- %q [taillabel=%q, headlabel=%q, style=bold];\n",
			lk.Ends[0].Node, lk.Ends[1].Node, linkAddr(lk.Ends[0]), linkAddr(lk.Ends[1]))
	}
	b.WriteString("}\n")
	return b.String()
}

// mermaidID makes a name safe as a mermaid node id.
func mermaidID(prefix, s string) string { return prefix + strings.ReplaceAll(s, "-", "_") }

func graphMermaid(l *labfile.Lab) string {
	var b strings.Builder
	b.WriteString("graph TD\n")
	for _, n := range l.Networks {
		fmt.Fprintf(&b, "  %s((\"%s %s\"))\n", mermaidID("net_", n.Name), n.Name, n.IPv4)
	}
	for _, n := range l.Nodes {
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", mermaidID("node_", n.Name), n.Name)
		for _, nic := range n.NICs {
			fmt.Fprintf(&b, "  %s ---|\"%s %s\"| %s\n", mermaidID("node_", n.Name), nic.Name, addr(nic), mermaidID("net_", nic.Network))
		}
	}
	for _, lk := range l.Links {
		fmt.Fprintf(&b, "  %s ===|\"%s / %s\"| %s\n", mermaidID("node_", lk.Ends[0].Node),
			linkAddr(lk.Ends[0]), linkAddr(lk.Ends[1]), mermaidID("node_", lk.Ends[1].Node))
	}
	return b.String()
}

// graphSVG lays nodes out in a row, each network as a bus below them, and links as arcs
// above them.
func graphSVG(l *labfile.Lab) string {
	const colW, boxW, boxH, top, busGap, labelW = 150, 110, 36, 90, 60, 150
	// The networks' names stand right of the last node, where no drop line crosses them.
	labelX := 20 + max(len(l.Nodes), 1)*colW + 10
	width := labelX + labelW
	busY := map[string]int{}
	for i, n := range l.Networks {
		busY[n.Name] = top + boxH + 70 + i*busGap
	}
	height := top + boxH + 70 + len(l.Networks)*busGap + 20
	x := map[string]int{}
	for i, n := range l.Nodes {
		x[n.Name] = 20 + i*colW + colW/2
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="20" y="20" font-size="14" font-weight="bold">lab %s</text>`+"\n", html.EscapeString(l.Name))
	for _, n := range l.Networks {
		y := busY[n.Name]
		fmt.Fprintf(&b, `<line x1="20" y1="%d" x2="%d" y2="%d" stroke="#2b6cb0" stroke-width="4"/>`+"\n", y, width-20, y)
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#2b6cb0">%s %s</text>`+"\n", labelX, y-6, html.EscapeString(n.Name), html.EscapeString(n.IPv4))
	}
	for _, n := range l.Nodes {
		cx := x[n.Name]
		for i, nic := range n.NICs {
			nx := cx - 20 + i*14
			// A white halo breaks every bus the drop crosses on its way; the dot marks the one
			// it attaches to.
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#fff" stroke-width="7"/>`+"\n", nx, top+boxH, nx, busY[nic.Network]-5)
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555"/>`+"\n", nx, top+boxH, nx, busY[nic.Network])
			fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="4" fill="#2b6cb0"/>`+"\n", nx, busY[nic.Network])
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="9">%s %s</text>`+"\n", nx+3, busY[nic.Network]-18-i*10,
				html.EscapeString(nic.Name), html.EscapeString(addr(nic)))
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="#edf2f7" stroke="#1a202c"/>`+"\n", cx-boxW/2, top, boxW, boxH)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="13">%s</text>`+"\n", cx, top+boxH/2+4, html.EscapeString(n.Name))
	}
	for i, lk := range l.Links {
		x1, x2 := x[lk.Ends[0].Node], x[lk.Ends[1].Node]
		lift := 30 + i*8
		fmt.Fprintf(&b, `<path d="M %d %d C %d %d, %d %d, %d %d" fill="none" stroke="#c05621" stroke-width="3"/>`+"\n",
			x1, top, x1, top-lift, x2, top-lift, x2, top)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#c05621">%s — %s</text>`+"\n", (x1+x2)/2, top-lift+4,
			html.EscapeString(linkAddr(lk.Ends[0])), html.EscapeString(linkAddr(lk.Ends[1])))
	}
	b.WriteString("</svg>\n")
	return b.String()
}
