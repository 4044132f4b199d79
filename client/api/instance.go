package api

import "time"

// InstancePut is the writable part of an instance (PUT /1.0/instances/{name}).
type InstancePut struct {
	Architecture string                       `json:"architecture"`
	Config       map[string]string            `json:"config"`
	Devices      map[string]map[string]string `json:"devices"`
	Ephemeral    bool                         `json:"ephemeral"`
	Profiles     []string                     `json:"profiles"`
	Stateful     bool                         `json:"stateful"`
	Description  string                       `json:"description"`
	// Restore, when set, turns the PUT into a snapshot restore (LXD's convention).
	Restore string `json:"restore,omitempty"`
}

// Instance is GET /1.0/instances/{name}.
type Instance struct {
	InstancePut
	Name            string                       `json:"name"`
	Type            string                       `json:"type"`
	Status          string                       `json:"status"`
	StatusCode      StatusCode                   `json:"status_code"`
	CreatedAt       time.Time                    `json:"created_at"`
	LastUsedAt      time.Time                    `json:"last_used_at"`
	ExpandedConfig  map[string]string            `json:"expanded_config"`
	ExpandedDevices map[string]map[string]string `json:"expanded_devices"`
	Location        string                       `json:"location"`
	Project         string                       `json:"project"`
}

// InstanceFull is an instance with its state (?recursion=1 on one, =2 on the list).
type InstanceFull struct {
	Instance
	State     *InstanceState     `json:"state"`
	Snapshots []InstanceSnapshot `json:"snapshots"`
	Backups   []any              `json:"backups"`
}

// InstanceSource says where a new instance's root filesystem comes from.
type InstanceSource struct {
	Type        string            `json:"type"` // image, none, copy
	Fingerprint string            `json:"fingerprint,omitempty"`
	Alias       string            `json:"alias,omitempty"`
	Properties  map[string]string `json:"properties,omitempty"`
	Server      string            `json:"server,omitempty"`
	Protocol    string            `json:"protocol,omitempty"`
	Mode        string            `json:"mode,omitempty"`
	Certificate string            `json:"certificate,omitempty"`
	Source      string            `json:"source,omitempty"`
	// InstanceOnly copies an instance without its snapshots (source type copy).
	InstanceOnly bool `json:"instance_only,omitempty"`
}

// InstancesPost is POST /1.0/instances. Profiles is nil when absent (meaning "default") and
// empty when the caller asked for no profile, as in LXD.
type InstancesPost struct {
	InstancePut
	Name   string         `json:"name"`
	Type   string         `json:"type"`
	Source InstanceSource `json:"source"`
}

// InstancePost renames an instance (POST /1.0/instances/{name}).
type InstancePost struct {
	Name string `json:"name"`
}

// InstanceStatePut is PUT /1.0/instances/{name}/state. Timeout -1 waits forever for a clean
// stop; 0 or Force kills at once.
type InstanceStatePut struct {
	Action   string `json:"action"`
	Timeout  int    `json:"timeout"`
	Force    bool   `json:"force"`
	Stateful bool   `json:"stateful"`
}

// InstanceState is GET /1.0/instances/{name}/state.
type InstanceState struct {
	Status     string                          `json:"status"`
	StatusCode StatusCode                      `json:"status_code"`
	Pid        int64                           `json:"pid"`
	Processes  int64                           `json:"processes"`
	CPU        InstanceStateCPU                `json:"cpu"`
	Memory     InstanceStateMemory             `json:"memory"`
	Disk       map[string]InstanceStateDisk    `json:"disk"`
	Network    map[string]InstanceStateNetwork `json:"network"`
}

// InstanceStateCPU is the CPU time used, in nanoseconds.
type InstanceStateCPU struct {
	Usage int64 `json:"usage"`
}

// InstanceStateMemory is memory use in bytes.
type InstanceStateMemory struct {
	Usage         int64 `json:"usage"`
	UsagePeak     int64 `json:"usage_peak"`
	SwapUsage     int64 `json:"swap_usage"`
	SwapUsagePeak int64 `json:"swap_usage_peak"`
}

// InstanceStateDisk is the disk use of one disk device, in bytes.
type InstanceStateDisk struct {
	Usage int64 `json:"usage"`
}

// InstanceStateNetwork is one network interface of a running instance.
type InstanceStateNetwork struct {
	Addresses []InstanceStateNetworkAddress `json:"addresses"`
	Counters  InstanceStateNetworkCounters  `json:"counters"`
	Hwaddr    string                        `json:"hwaddr"`
	HostName  string                        `json:"host_name"`
	Mtu       int                           `json:"mtu"`
	State     string                        `json:"state"`
	Type      string                        `json:"type"`
}

// InstanceStateNetworkAddress is one address on an interface.
type InstanceStateNetworkAddress struct {
	Family  string `json:"family"`
	Address string `json:"address"`
	Netmask string `json:"netmask"`
	Scope   string `json:"scope"`
}

// InstanceStateNetworkCounters are interface traffic counters.
type InstanceStateNetworkCounters struct {
	BytesReceived          int64 `json:"bytes_received"`
	BytesSent              int64 `json:"bytes_sent"`
	PacketsReceived        int64 `json:"packets_received"`
	PacketsSent            int64 `json:"packets_sent"`
	ErrorsReceived         int64 `json:"errors_received"`
	ErrorsSent             int64 `json:"errors_sent"`
	PacketsDroppedOutbound int64 `json:"packets_dropped_outbound"`
	PacketsDroppedInbound  int64 `json:"packets_dropped_inbound"`
}

// InstanceExecPost is POST /1.0/instances/{name}/exec.
type InstanceExecPost struct {
	Command      []string          `json:"command"`
	WaitForWS    bool              `json:"wait-for-websocket"`
	Interactive  bool              `json:"interactive"`
	Environment  map[string]string `json:"environment"`
	Width        int               `json:"width"`
	Height       int               `json:"height"`
	RecordOutput bool              `json:"record-output"`
	User         uint32            `json:"user"`
	Group        uint32            `json:"group"`
	Cwd          string            `json:"cwd"`
}

// InstanceExecControl is a JSON frame on the exec control websocket. Width and height travel
// as strings, as in LXD.
type InstanceExecControl struct {
	Command string            `json:"command"`
	Args    map[string]string `json:"args"`
	Signal  int               `json:"signal"`
}
