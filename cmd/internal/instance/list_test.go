package instance

import (
	"context"
	"strings"
	"testing"
	"time"

	"lite/cmd/internal/output"
)

func runList(t *testing.T, columns string, format output.Format, filters ...string) string {
	t.Helper()
	fake, ios, stdout, _ := newFake()
	err := RunList(context.Background(), &ListOptions{IO: ios, Client: clientOf(fake),
		Filters: filters, Columns: columns, Format: format, Location: time.UTC})
	if err != nil {
		t.Fatalf("RunList: %v", err)
	}
	return stdout()
}

func TestListDefaultTable(t *testing.T) {
	want := `+------+---------+-----------------+----------------+-----------------------+-----------+
| NAME |  STATE  |      IPV4       |      IPV6      |         TYPE          | SNAPSHOTS |
+------+---------+-----------------+----------------+-----------------------+-----------+
| api1 | RUNNING | 10.0.3.7 (eth0) |                | CONTAINER (EPHEMERAL) | 0         |
+------+---------+-----------------+----------------+-----------------------+-----------+
| c1   | RUNNING | 10.0.3.5 (eth0) | fd42::5 (eth0) | CONTAINER             | 2         |
|      |         | 10.0.4.9 (eth1) |                |                       |           |
+------+---------+-----------------+----------------+-----------------------+-----------+
| web  | STOPPED |                 |                | CONTAINER             | 0         |
+------+---------+-----------------+----------------+-----------------------+-----------+
`
	if got := runList(t, DefaultColumns, output.Table); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestListCSVAndColumns(t *testing.T) {
	got := runList(t, "n,a,c,l,p,P,b,m,M,u,D,N,d", output.CSV)
	want := `api1,x86_64,2024/01/02 03:04 UTC,,99,default,,,,,,0,
c1,x86_64,2024/01/02 03:04 UTC,2024/01/02 04:04 UTC,1234,default,default,40.00MiB,7.81%,5s,12.00MiB,12,database
web,x86_64,2024/01/02 03:04 UTC,,,"default
db",,,,,,,
`
	if got != want {
		t.Errorf("csv:\n%s\nwant:\n%s", got, want)
	}
}

func TestListJSONAndYAML(t *testing.T) {
	got := runList(t, DefaultColumns, output.JSON, "c1")
	if !strings.HasPrefix(got, `[{"architecture":"x86_64","config":{"user.role":"db"},`) ||
		!strings.Contains(got, `"name":"c1"`) || strings.Contains(got, `"name":"web"`) ||
		!strings.Contains(got, `"state":{"status":"Running","status_code":103,"pid":1234`) ||
		strings.Count(got, "\n") != 1 {
		t.Errorf("json output:\n%s", got)
	}
	got = runList(t, DefaultColumns, output.YAML, "web")
	want := `- architecture: x86_64
  config:
    user.role: db
  devices: null
  ephemeral: false
  profiles:
    - default
    - db
  stateful: false
  description: ""
  name: web
  type: container
  status: Stopped
  status_code: 102
  created_at: "2024-01-02T03:04:05Z"
  last_used_at: "0001-01-01T00:00:00Z"
  expanded_config:
    image.os: Debian
    user.role: front
  expanded_devices: null
  location: ""
  project: ""
  state:
    status: Stopped
    status_code: 102
    pid: 0
    processes: 0
    cpu:
      usage: 0
    memory:
      usage: 0
      usage_peak: 0
      swap_usage: 0
      swap_usage_peak: 0
    disk: null
    network: null
  snapshots: null
  backups: null
`
	if got != want {
		t.Errorf("yaml:\n%s\nwant:\n%s", got, want)
	}
	if got := runList(t, DefaultColumns, output.JSON, "nothing-matches"); got != "[]\n" {
		t.Errorf("empty json list = %q", got)
	}
}

func TestListFilters(t *testing.T) {
	cases := []struct {
		filters []string
		want    string
	}{
		{nil, "api1 c1 web"},
		{[]string{"c"}, "c1"},                   // name prefix
		{[]string{"[aw].*"}, "api1 web"},        // whole-name regexp
		{[]string{"status=running"}, "api1 c1"}, // top-level field, any case
		{[]string{"type=container", "ephemeral=true"}, "api1"},
		{[]string{"user.role=db"}, "c1 web"}, // local config counts too
		{[]string{"u.role=front"}, "web"},    // shortened key, expanded config
		{[]string{"image.os=debian"}, "c1 web"},
		{[]string{"ipv4=10.0.4.0/24"}, "c1"},
		{[]string{"ipv4=10.0.3.7"}, "api1"},
		{[]string{"status=running", "user.role=db"}, "c1"},
		{[]string{"user.missing=x"}, ""},
	}
	for _, tc := range cases {
		got := strings.Join(strings.Fields(runList(t, "n", output.CSV, tc.filters...)), " ")
		if got != tc.want {
			t.Errorf("filters %q: got %q, want %q", tc.filters, got, tc.want)
		}
	}
}

func TestListRejectsUnknownColumn(t *testing.T) {
	fake, ios, _, _ := newFake()
	err := RunList(context.Background(), &ListOptions{IO: ios, Client: clientOf(fake), Columns: "nsX", Format: output.Table})
	if err == nil || err.Error() != `unknown column shorthand "X" in "nsX"` {
		t.Errorf("err = %v", err)
	}
}

// Instances that name their member (a cluster) add the LOCATION column to the default ones.
func TestListLocationWhenClustered(t *testing.T) {
	fake, ios, stdout, _ := newFake()
	for n := range fake.Instances {
		fake.Instances[n].Location = "host1"
	}
	err := RunList(context.Background(), &ListOptions{IO: ios, Client: clientOf(fake),
		Columns: "ns", Format: output.CSV, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if got := stdout(); strings.Contains(got, "host") {
		t.Errorf("explicit columns gained LOCATION:\n%s", got)
	}
	fake, ios, stdout, _ = newFake()
	fake.Instances[0].Location, fake.Instances[1].Location, fake.Instances[2].Location = "host2", "host1", "host2"
	err = RunList(context.Background(), &ListOptions{IO: ios, Client: clientOf(fake),
		Columns: DefaultColumns, Format: output.Table, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	got := stdout()
	header := strings.Split(got, "\n")[1]
	if !strings.HasSuffix(strings.TrimSpace(header), "| LOCATION |") {
		t.Errorf("header %q lacks a final LOCATION column", header)
	}
	for _, row := range []string{"| api1 |", "| c1   |", "| web  |"} {
		for _, line := range strings.Split(got, "\n") {
			if strings.HasPrefix(line, row) && !strings.Contains(line, "| host") {
				t.Errorf("row %q lacks its member", line)
			}
		}
	}
	if _, err := parseColumns("nL"); err != nil {
		t.Errorf("-c nL: %v", err)
	}
	if got := runList(t, DefaultColumns, output.Table); strings.Contains(got, "LOCATION") {
		t.Errorf("single host list shows LOCATION:\n%s", got)
	}
}
