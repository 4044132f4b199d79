package instance

import (
	"context"
	"testing"
	"time"

	"lite/client/api"
)

func runInfo(t *testing.T, name string) string {
	t.Helper()
	fake, ios, stdout, _ := newFake()
	fake.Server = &api.Server{ServerPut: api.ServerPut{Config: map[string]string{}}, AuthMethods: []string{},
		APIVersion: "1.0", Auth: "trusted", APIExtensions: []string{"instances"},
		Environment: api.ServerEnvironment{ServerName: "box", ServerVersion: "5.0.2", Architectures: []string{}}}
	if err := RunInfo(context.Background(), &InfoOptions{IO: ios, Client: clientOf(fake), Name: name, Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	return stdout()
}

func TestInfoRunningInstance(t *testing.T) {
	want := `Name: c1
Status: RUNNING
Type: container
Architecture: x86_64
PID: 1234
Created: 2024/01/02 03:04 UTC
Last Used: 2024/01/02 04:04 UTC
Image: Debian bookworm amd64 (0123456789ab)

Resources:
  Processes: 12
  Disk usage:
    root: 12.00MiB
  CPU usage:
    CPU usage (in seconds): 5
  Memory usage:
    Memory (current): 40.00MiB
    Memory (peak): 50.00MiB
  Network usage:
    eth0:
      Type: broadcast
      State: UP
      Host interface: veth1
      MAC address: 00:16:3e:00:00:01
      MTU: 1500
      Bytes received: 2.50kB
      Bytes sent: 1.20kB
      Packets received: 30
      Packets sent: 20
      IP addresses:
        inet:  10.0.3.5/24 (global)
        inet6: fd42::5/64 (global)
        inet6: fe80::1/64 (link)
    eth1:
      Type: broadcast
      State: UP
      Host interface: veth1
      MAC address: 00:16:3e:00:00:01
      MTU: 1500
      Bytes received: 2.50kB
      Bytes sent: 1.20kB
      Packets received: 30
      Packets sent: 20
      IP addresses:
        inet:  10.0.4.9/24 (global)
    lo:
      Type: loopback
      Bytes received: 0B
      Bytes sent: 0B
      Packets received: 0
      Packets sent: 0
      IP addresses:
        inet:  127.0.0.1/8 (local)

Snapshots:
  NAME  TAKEN AT                   EXPIRES AT
  s0
  s1
`
	if got := runInfo(t, "c1"); got != want {
		t.Errorf("info c1:\n%s\nwant:\n%s", got, want)
	}
}

func TestInfoStoppedInstanceHasNoResources(t *testing.T) {
	want := "Name: web\nStatus: STOPPED\nType: container\nArchitecture: x86_64\n" +
		"Created: 2024/01/02 03:04 UTC\nLast Used: \n"
	if got := runInfo(t, "web"); got != want {
		t.Errorf("info web:\n%q\nwant:\n%q", got, want)
	}
}

func TestInfoServerAsYAML(t *testing.T) {
	got := runInfo(t, "")
	want := `config: {}
api_extensions:
  - instances
api_status: ""
api_version: "1.0"
auth: trusted
public: false
auth_methods: []
`
	if len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("server yaml starts:\n%s\nwant:\n%s", got, want)
	}
}
