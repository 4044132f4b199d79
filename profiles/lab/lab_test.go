package lab

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"lite/client/api"
)

func TestLoadExample(t *testing.T) {
	lab, err := Load(filepath.Join("testdata", "shop.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var names []string
	for _, n := range lab.Nodes {
		names = append(names, n.Name)
	}
	if want := []string{"lb", "web1", "web2", "web3", "db", "r1", "r2"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("nodes %v, want %v", names, want)
	}
	web3 := lab.Node("web3")
	if got := web3.NICs[1]; got.Name != "eth1" || got.Network != "back" || got.IPv4 != "10.10.2.13" {
		t.Errorf("web3 eth1 = %+v, want back 10.10.2.13", got)
	}
	if web3.NICs[0].IPv4 != "" || web3.Spec != "web[1-3]" || !reflect.DeepEqual(web3.Groups, []string{"web"}) {
		t.Errorf("web3 = %+v", web3)
	}
	db := lab.Node("db")
	if db.Config["limits.memory"] != "1GiB" || db.Config["limits.cpu"] != "1" || db.Image != "debian/12" {
		t.Errorf("db config/image = %v %q: the node's keys must win over defaults", db.Config, db.Image)
	}
	if lab.Node("lb").Config["limits.memory"] != "512MiB" {
		t.Errorf("lb config = %v, want the default limits.memory", lab.Node("lb").Config)
	}
	if !reflect.DeepEqual(db.DependsOn, []string{"lb"}) || !filepath.IsAbs(db.Files[0].Source) && !strings.HasPrefix(db.Files[0].Source, "testdata") {
		t.Errorf("db depends_on %v files %v", db.DependsOn, db.Files)
	}
	if len(lab.Links) != 1 {
		t.Fatalf("links = %+v", lab.Links)
	}
	l := lab.Links[0]
	if l.Ends[0] != (Endpoint{"r1", "eth1", "10.0.12.1/30"}) || l.Ends[1] != (Endpoint{"r2", "eth1", "10.0.12.2/30"}) {
		t.Errorf("link ends = %+v", l.Ends)
	}
	if l.Impair != (Impair{Delay: "20ms", Jitter: "5ms", Loss: "1%", Rate: "10mbit"}) {
		t.Errorf("impair = %+v", l.Impair)
	}
	if len(lab.Checks) != 2 || lab.Networks[0].Name != "back" || *lab.Networks[0].NAT {
		t.Errorf("checks %+v networks %+v", lab.Checks, lab.Networks)
	}
}

// base is a small valid lab; each case edits it so that exactly one thing is wrong.
const base = `name: t
networks:
  front: {ipv4: 10.20.1.1/24}
nodes:
  a:
    nics: {eth0: {network: front, ipv4: 10.20.1.10}}
  b[1-2]:
    groups: [bs]
    nics: {eth0: {network: front}}
  r1: {}
  r2: {}
links:
  - endpoints: [r1:eth1, r2:eth1]
    ipv4: [10.0.12.1/30, 10.0.12.2/30]
`

func TestBaseIsValid(t *testing.T) {
	if _, err := Parse("lab.yaml", []byte(base), ""); err != nil {
		t.Fatalf("base lab: %v", err)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name     string
		old, new string // replace old by new in base
		want     string // substring of the error, with file:line:col
	}{
		{"unknown top key", "name: t\n", "name: t\nnodez: {}\n", "lab.yaml:2:1: nodez: unknown key"},
		{"unknown node key", "    groups: [bs]", "    group: [bs]", "lab.yaml:8:5: nodes.b[1-2].group: unknown key (expected one of: image"},
		{"unknown nic key", "{network: front}}", "{network: front, ip: 1.2.3.4}}", "lab.yaml:9:35: nodes.b[1-2].nics.eth0.ip: unknown key"},
		{"bad lab name", "name: t\n", "name: Shop_Lab\n", "lab.yaml:1:7: name: \"Shop_Lab\" is not a lab name"},
		{"lab name too long", "name: t\n", "name: abcdefghijklm\n", "is not a lab name"},
		{"missing name", "name: t\n", "", "lab.yaml:1:1: name: required"},
		{"bad range", "b[1-2]:", "b[3-1]:", "lab.yaml:7:3: nodes.b[3-1]: \"b[3-1]\" is not a node range"},
		{"huge range", "b[1-2]:", "b[1-100000]:", "is not a node range"},
		{"duplicate after expansion", "  r1: {}\n", "  b2: {}\n  r1: {}\n", "lab.yaml:10:3: nodes.b2: node b2 is already defined at line 7"},
		{"duplicate key", "  r2: {}\n", "  r2: {}\n  r2: {}\n", "lab.yaml:12:3: nodes.r2: key given twice"},
		{"address outside network", "ipv4: 10.20.1.10}", "ipv4: 10.20.2.10}", "lab.yaml:6:41: nodes.a.nics.eth0.ipv4: node a: 10.20.2.10 is outside the network's subnet 10.20.1.0/24"},
		{"address is the gateway", "ipv4: 10.20.1.10}", "ipv4: 10.20.1.1}", "is the bridge's own address"},
		{"broadcast", "ipv4: 10.20.1.10}", "ipv4: 10.20.1.255}", "network or broadcast address"},
		{"not an address", "ipv4: 10.20.1.10}", "ipv4: 10.20.1.10/24}", "is not an IPv4 address without prefix"},
		{"duplicate address", "{eth0: {network: front}}", "{eth0: {network: front, ipv4: 10.20.1.9}}", "lab.yaml:9:41: nodes.b[1-2].nics.eth0.ipv4: 10.20.1.10 is already the address of node a"},
		{"range leaves subnet", "{eth0: {network: front}}", "{eth0: {network: front, ipv4: 10.20.1.254}}", "10.20.1.255 is the subnet's network or broadcast address"},
		{"static on auto network", "{ipv4: 10.20.1.1/24}", "{ipv4: auto}", "network front has ipv4: auto; a static address needs the network's subnet"},
		{"unknown network", "{eth0: {network: front}}", "{eth0: {network: back}}", "lab.yaml:9:12: nodes.b[1-2].nics.eth0.network: unknown network \"back\""},
		{"nic without network", "{eth0: {network: front}}", "{eth0: {}}", "nodes.b[1-2].nics.eth0.network: required"},
		{"bad network ipv4", "{ipv4: 10.20.1.1/24}", "{ipv4: 10.20.1.0/24}", "lab.yaml:3:3: networks.front.ipv4: \"10.20.1.0/24\": the bridge needs a host address"},
		{"overlapping networks", "  front: {ipv4: 10.20.1.1/24}\n", "  front: {ipv4: 10.20.1.1/24}\n  zback: {ipv4: 10.20.0.1/16}\n", "overlaps network front"},
		{"bad nat", "{ipv4: 10.20.1.1/24}", "{ipv4: 10.20.1.1/24, nat: maybe}", "networks.front.nat: expected true or false, found \"maybe\""},
		{"bad domain", "{ipv4: 10.20.1.1/24}", "{ipv4: 10.20.1.1/24, dns.domain: \"a..b\"}", "networks.front.dns.domain: \"a..b\" is not a DNS domain"},
		{"link to unknown node", "[r1:eth1, r2:eth1]", "[r1:eth1, r3:eth1]", "lab.yaml:13:26: links[0].endpoints[1]: unknown node \"r3\""},
		{"link to existing nic", "[r1:eth1, r2:eth1]", "[r1:eth1, a:eth0]", "links[0].endpoints[1]: node a already has interface eth0 on network front"},
		{"link iface used twice", "links:\n", "links:\n  - endpoints: [r1:eth1, a:eth5]\n", "links[1].endpoints[0]: r1:eth1 is already an end of links[0]"},
		{"link without colon", "[r1:eth1, r2:eth1]", "[r1, r2:eth1]", "\"r1\" is not NODE:IFACE"},
		{"link bad iface", "[r1:eth1, r2:eth1]", "[r1:eth1, r2:this-name-is-too-long]", "is not an interface name"},
		{"link one end", "[r1:eth1, r2:eth1]", "[r1:eth1]", "links[0].endpoints: required: exactly two endpoints"},
		{"link same node", "[r1:eth1, r2:eth1]", "[r1:eth1, r1:eth2]", "both ends are on node r1"},
		{"link subnets differ", "10.0.12.2/30]", "10.0.13.2/30]", "two different addresses in one subnet"},
		{"link bad impair", "    ipv4: [10.0.12.1/30, 10.0.12.2/30]\n", "    ipv4: [10.0.12.1/30, 10.0.12.2/30]\n    impair: {delay: 20, loss: 120%}\n", "links[0].impair.delay: \"20\" is not a duration"},
		{"link impair loss", "    ipv4: [10.0.12.1/30, 10.0.12.2/30]\n", "    ipv4: [10.0.12.1/30, 10.0.12.2/30]\n    impair: {loss: 120%}\n", "links[0].impair.loss: \"120%\" is not a percentage"},
		{"depends on unknown", "  r1: {}\n", "  r1: {depends_on: [zz]}\n", "lab.yaml:10:21: nodes.r1.depends_on: unknown node or group \"zz\""},
		{"depends cycle", "  r1: {}\n  r2: {}\n", "  r1: {depends_on: [r2]}\n  r2: {depends_on: [bs]}\n  b3: {groups: [bs], depends_on: [r1]}\n", "depends_on makes a cycle: r1 -> r2 -> b3 -> r1"},
		{"depends on self", "  r1: {}\n", "  r1: {depends_on: [r1]}\n", "depends_on makes a cycle: r1 -> r1"},
		{"bad config key", "  r1: {}\n", "  r1: {config: {limits.memroy: 1GiB}}\n", "nodes.r1.config.limits.memroy: unknown config key \"limits.memroy\""},
		{"bad config value", "  r1: {}\n", "  r1: {config: {limits.memory: lots}}\n", "nodes.r1.config.limits.memory: config key \"limits.memory\""},
		{"lab label in config", "  r1: {}\n", "  r1: {config: {user.lite.lab: other}}\n", "nodes.r1.config.user.lite.lab: user.lite.lab is set by lite"},
		{"volatile config", "  r1: {}\n", "  r1: {config: {volatile.eth0.hwaddr: x}}\n", "volatile.* keys are set by lited"},
		{"bad package", "name: t\n", "name: t\ndefaults: {packages: [\"curl; rm -rf /\"]}\n", "defaults.packages: \"curl; rm -rf /\" is not a Debian package name"},
		{"bad user", "  r1: {}\n", "  r1: {user: root}\n", "nodes.r1.user: \"root\" is not a user name to create"},
		{"bad target", "  r1: {}\n", "  r1: {target: Host_1}\n", "nodes.r1.target: \"Host_1\" is not a cluster member name"},
		{"empty target", "name: t\n", "name: t\ndefaults: {target: \"\"}\n", "defaults.target: \"\" is not a cluster member name"},
		{"bad file path", "  r1: {}\n", "  r1: {files: [{source: x, path: ../etc/passwd}]}\n", "nodes.r1.files[0].path: \"../etc/passwd\" is not a clean absolute file path"},
		{"file without source", "  r1: {}\n", "  r1: {files: [{path: /etc/x}]}\n", "nodes.r1.files[0].source: required"},
		{"file bad uid", "  r1: {}\n", "  r1: {files: [{source: x, path: /etc/x, uid: -1}]}\n", "nodes.r1.files[0].uid: expected a whole number from 0 to 65535"},
		{"run not a list", "  r1: {}\n", "  r1: {run: echo hi}\n", "nodes.r1.run: expected a list"},
		{"check unknown from", "links:\n", "checks:\n  - {from: zz, ping: a}\nlinks:\n", "checks[0].from: unknown node \"zz\""},
		{"check both", "links:\n", "checks:\n  - {from: a, ping: b1, tcp: b1:22}\nlinks:\n", "expected exactly one of ping"},
		{"check bad tcp", "links:\n", "checks:\n  - {from: a, tcp: b1}\nlinks:\n", "\"b1\" is not NODE:PORT"},
		{"check bad target", "links:\n", "checks:\n  - {from: a, ping: nosuch}\nlinks:\n", "\"nosuch\" is neither a node of the lab nor an IPv4 address"},
		{"nodes not a map", "nodes:\n", "nodes: [a]\nx:\n", "lab.yaml:4:8: nodes: expected a mapping"},
		{"bad yaml", "name: t\n", "name: [t\n", "lab.yaml:"},
		{"bad node name", "  r1: {}\n", "  1r: {}\n", "invalid instance name \"1r\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(base, c.old) {
				t.Fatalf("case does not apply: %q not in base", c.old)
			}
			src := strings.Replace(base, c.old, c.new, 1)
			_, err := Parse("lab.yaml", []byte(src), "")
			if err == nil {
				t.Fatalf("no error for:\n%s", src)
			}
			if !errors.Is(err, api.ErrInvalid) {
				t.Errorf("error kind: %v is not ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, c.want)
			}
		})
	}
}

func TestAllErrorsReported(t *testing.T) {
	src := strings.Replace(base, "name: t\n", "name: T\nbogus: 1\n", 1)
	_, err := Parse("lab.yaml", []byte(src), "")
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 {
		t.Fatalf("want two errors in file order, got %v", err)
	}
	if es[0].Line != 1 || es[1].Line != 2 {
		t.Errorf("errors not in file order: %v", err)
	}
}

func TestLoadMissingSource(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "lab.yaml")
	src := strings.Replace(base, "  r1: {}\n", "  r1: {files: [{source: ./nope.conf, path: /etc/x}]}\n", 1)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), "nodes.r1.files[0].source: "+filepath.Join(dir, "nope.conf")+" is not a readable regular file") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "absent.yaml")); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("absent file: %v", err)
	}
}
