package lab

import (
	"encoding/xml"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"lite/client/api"
	labfile "lite/profiles/lab"
)

func TestGraph(t *testing.T) {
	l, err := labfile.Load(filepath.Join("..", "..", "..", "profiles", "lab", "testdata", "shop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dot, _ := Graph(l, "dot")
	for _, want := range []string{`"web3" -- "net:back" [label="eth1 10.10.2.13"]`, `"web1" -- "net:front" [label="eth0 dhcp"]`,
		`"r1" -- "r2" [taillabel="eth1 10.0.12.1/30", headlabel="eth1 10.0.12.2/30", style=bold]`} {
		if !strings.Contains(dot, want) {
			t.Errorf("dot lacks %s:\n%s", want, dot)
		}
	}
	mm, _ := Graph(l, "mermaid")
	if !strings.Contains(mm, `node_db ---|"eth0 10.10.2.20"| net_back`) || !strings.Contains(mm, `node_r1 ===|`) {
		t.Errorf("mermaid:\n%s", mm)
	}
	svg, _ := Graph(l, "svg")
	dec := xml.NewDecoder(strings.NewReader(svg))
	texts, dots := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("svg is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "text" {
			texts++
		} else if ok && se.Name.Local == "circle" {
			dots++
		}
	}
	if texts < 7+2 || !strings.Contains(svg, ">web2<") || !strings.Contains(svg, "eth1 10.10.2.12") {
		t.Errorf("svg lacks nodes or addresses (%d texts):\n%s", texts, svg)
	}
	nics := 0
	for _, n := range l.Nodes {
		nics += len(n.NICs)
	}
	if dots != nics {
		t.Errorf("svg marks %d attachments, the lab has %d nics", dots, nics)
	}
	if _, err := Graph(l, "png"); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("png: %v", err)
	}
}
