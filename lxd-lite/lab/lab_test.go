package lab

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"lite/client/api"
	labfile "lite/profiles/lab"
)

const testLab = `name: t
networks:
  front: {ipv4: 10.20.1.1/24}
  back: {ipv4: 10.20.2.1/28}
nodes:
  a:
    nics: {eth0: {network: front}, eth1: {network: back, ipv4: 10.20.2.5}, eth2: {network: front}}
    config: {limits.memory: 1GiB}
    files: [{source: ./x.conf, path: /etc/x.conf}]
  b: {depends_on: [a]}
  c: {depends_on: [b]}
  d: {}
`

func parse(t *testing.T) *labfile.Lab {
	t.Helper()
	return parseSrc(t, testLab)
}

// parseSrc parses a lab file's text or fails the test.
func parseSrc(t *testing.T, src string) *labfile.Lab {
	t.Helper()
	l, err := labfile.Parse("lab.yaml", []byte(src), "")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestInstanceRequest(t *testing.T) {
	l := parse(t)
	req := instanceRequest(l, *l.Node("a"))
	if req.Config[LabKey] != "t" || req.Config["limits.memory"] != "1GiB" {
		t.Errorf("config = %v", req.Config)
	}
	want := map[string]string{"type": "nic", "network": "t-back", "name": "eth1", "ipv4.address": "10.20.2.5"}
	if !reflect.DeepEqual(req.Devices["eth1"], want) || req.Devices["eth0"]["ipv4.address"] != "" {
		t.Errorf("devices = %v", req.Devices)
	}
	if req.Source.Alias != "debian/12" || req.Name != "a" {
		t.Errorf("request = %+v", req)
	}
}

func TestNICScript(t *testing.T) {
	l := parse(t)
	s := nicScript(l, *l.Node("a"))
	for _, want := range []string{`Name=eth1\n\n[Network]\nAddress=10.20.2.5/28\n' > /etc/systemd/network/eth1.network`,
		`Name=eth2\n\n[Network]\nDHCP=ipv4\n' > /etc/systemd/network/eth2.network`, "networkctl reload"} {
		if !strings.Contains(s, want) {
			t.Errorf("nic script lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "eth0") || nicScript(l, *l.Node("d")) != "" {
		t.Errorf("eth0 is the image's, and a node without extra nics needs no script:\n%s", s)
	}
	if c := staticChecks(*l.Node("a")); !strings.Contains(c, "dev eth1") || strings.Contains(c, "eth2") {
		t.Errorf("static checks: %s", c)
	}
}

func TestSelectNodes(t *testing.T) {
	l := parse(t)
	nodes, err := SelectNodes(l, []string{"c"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	if !reflect.DeepEqual(names, []string{"a", "b", "c"}) {
		t.Errorf("--only c = %v, want c with what it depends on", names)
	}
	if _, err := SelectNodes(l, []string{"zz"}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("--only zz: %v", err)
	}
}

func TestParseRequest(t *testing.T) {
	req := api.LabsPost{Source: testLab}
	if _, err := Parse(req); err == nil || !strings.Contains(err.Error(), "file ./x.conf was not sent") {
		t.Errorf("missing file: %v", err)
	}
	req.Files = map[string][]byte{"./x.conf": []byte("x")}
	if _, err := Parse(req); err != nil {
		t.Errorf("complete request: %v", err)
	}
	long := strings.Replace(testLab, "name: t\n", "name: abcdefghijkl\n", 1)
	if _, err := Parse(api.LabsPost{Source: long, Files: req.Files}); err == nil || !strings.Contains(err.Error(), "longer than 15 characters") {
		t.Errorf("long bridge name: %v", err)
	}
	if _, err := Parse(api.LabsPost{Source: "name: [", Filename: "my.yaml"}); err == nil || !strings.HasPrefix(err.Error(), "my.yaml:") {
		t.Errorf("bad yaml: %v", err)
	}
}

func TestLastLinesAndTail(t *testing.T) {
	if got := lastLines("a\nb\nc\nd\n", 2); got != "c\nd" {
		t.Errorf("lastLines = %q", got)
	}
	var tl tail
	big := strings.Repeat("x", maxOutput)
	_, _ = tl.Write([]byte("head"))
	_, _ = tl.Write([]byte(big))
	if len(tl.String()) != maxOutput || strings.Contains(tl.String(), "head") {
		t.Errorf("tail kept %d bytes", len(tl.String()))
	}
}

func TestConfigChange(t *testing.T) {
	prev := labfile.Node{NodeSpec: labfile.NodeSpec{Config: map[string]string{"limits.memory": "1GiB", "limits.cpu": "1"}}}
	next := labfile.Node{NodeSpec: labfile.NodeSpec{Config: map[string]string{"limits.memory": "768MiB"}}}
	have := map[string]string{"limits.memory": "1GiB", "limits.cpu": "1", LabKey: "t", "user.mine": "x"}
	want, diff := configChange(have, &prev, next)
	if diff != "-limits.cpu limits.memory=768MiB" {
		t.Errorf("diff = %q", diff)
	}
	if !reflect.DeepEqual(want, map[string]string{"limits.memory": "768MiB", LabKey: "t", "user.mine": "x"}) {
		t.Errorf("want = %v", want)
	}
	if _, diff := configChange(want, &next, next); diff != "" {
		t.Errorf("an applied config still differs: %q", diff)
	}
}
