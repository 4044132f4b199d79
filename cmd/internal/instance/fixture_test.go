package instance

import (
	"time"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/cli/clitest"
)

var created = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// fixture returns three instances: c1 running with two NICs, web stopped, api1 running and
// ephemeral.
func fixture() []api.InstanceFull {
	nic := func(addrs ...api.InstanceStateNetworkAddress) api.InstanceStateNetwork {
		return api.InstanceStateNetwork{Type: "broadcast", State: "up", Mtu: 1500, Hwaddr: "00:16:3e:00:00:01",
			HostName: "veth1", Addresses: addrs, Counters: api.InstanceStateNetworkCounters{
				BytesReceived: 2500, BytesSent: 1200, PacketsReceived: 30, PacketsSent: 20}}
	}
	addr := func(family, a, mask, scope string) api.InstanceStateNetworkAddress {
		return api.InstanceStateNetworkAddress{Family: family, Address: a, Netmask: mask, Scope: scope}
	}
	return []api.InstanceFull{
		{
			Instance: api.Instance{
				InstancePut: api.InstancePut{Architecture: "x86_64", Profiles: []string{"default", "db"},
					Config: map[string]string{"user.role": "db"}},
				Name: "web", Type: "container", Status: "Stopped", StatusCode: api.Stopped,
				CreatedAt: created, ExpandedConfig: map[string]string{"user.role": "front", "image.os": "Debian"},
			},
			State: &api.InstanceState{Status: "Stopped", StatusCode: api.Stopped},
		},
		{
			Instance: api.Instance{
				InstancePut: api.InstancePut{Architecture: "x86_64", Profiles: []string{"default"},
					Description: "database", Config: map[string]string{"user.role": "db"}},
				Name: "c1", Type: "container", Status: "Running", StatusCode: api.Running,
				CreatedAt: created, LastUsedAt: created.Add(time.Hour),
				ExpandedConfig: map[string]string{
					"user.role": "db", "image.os": "Debian", "limits.memory": "512MiB",
					"image.description": "Debian bookworm amd64", "volatile.base_image": "0123456789abcdef0123",
				},
				ExpandedDevices: map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default"}},
			},
			State: &api.InstanceState{
				Status: "Running", StatusCode: api.Running, Pid: 1234, Processes: 12,
				CPU:    api.InstanceStateCPU{Usage: 5_500_000_000},
				Memory: api.InstanceStateMemory{Usage: 40 << 20, UsagePeak: 50 << 20},
				Disk:   map[string]api.InstanceStateDisk{"root": {Usage: 12 << 20}},
				Network: map[string]api.InstanceStateNetwork{
					"eth0": nic(addr("inet", "10.0.3.5", "24", "global"), addr("inet6", "fd42::5", "64", "global"),
						addr("inet6", "fe80::1", "64", "link")),
					"eth1": nic(addr("inet", "10.0.4.9", "24", "global")),
					"lo":   {Type: "loopback", Addresses: []api.InstanceStateNetworkAddress{addr("inet", "127.0.0.1", "8", "local")}},
				},
			},
			Snapshots: []api.InstanceSnapshot{{Name: "s0"}, {Name: "s1"}},
		},
		{
			Instance: api.Instance{
				InstancePut: api.InstancePut{Architecture: "x86_64", Ephemeral: true, Profiles: []string{"default"}},
				Name:        "api1", Type: "container", Status: "Running", StatusCode: api.Running, CreatedAt: created,
			},
			State: &api.InstanceState{Status: "Running", StatusCode: api.Running, Pid: 99,
				Network: map[string]api.InstanceStateNetwork{"eth0": nic(addr("inet", "10.0.3.7", "24", "global"))}},
		},
	}
}

// newFake returns a fake client serving the fixture, and test streams.
func newFake() (*clitest.Client, *cli.IOStreams, func() string, func() string) {
	fake := &clitest.Client{Instances: fixture()}
	ios, stdout, stderr := cli.TestIO("")
	return fake, ios, stdout.String, stderr.String
}

func clientOf(fake *clitest.Client) func() (cli.Client, error) {
	return func() (cli.Client, error) { return fake, nil }
}
