package api

// NetworkPut is the writable part of a network.
type NetworkPut struct {
	Config      map[string]string `json:"config"`
	Description string            `json:"description"`
}

// Network is GET /1.0/networks/{name}.
type Network struct {
	NetworkPut
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	Managed   bool     `json:"managed"`
	Status    string   `json:"status"`
	UsedBy    []string `json:"used_by"`
	Locations []string `json:"locations"`
}

// NetworksPost is POST /1.0/networks.
type NetworksPost struct {
	NetworkPut
	Name string `json:"name"`
	Type string `json:"type"`
}

// NetworkPost is POST /1.0/networks/{name} (rename).
type NetworkPost struct {
	Name string `json:"name"`
}

// NetworkState is GET /1.0/networks/{name}/state.
type NetworkState struct {
	Addresses []NetworkStateAddress `json:"addresses"`
	Counters  NetworkStateCounters  `json:"counters"`
	Hwaddr    string                `json:"hwaddr"`
	Mtu       int                   `json:"mtu"`
	State     string                `json:"state"`
	Type      string                `json:"type"`
}

// NetworkStateAddress is one address of a network's host interface.
type NetworkStateAddress struct {
	Family  string `json:"family"`
	Address string `json:"address"`
	Netmask string `json:"netmask"`
	Scope   string `json:"scope"`
}

// NetworkStateCounters are a network interface's traffic counters.
type NetworkStateCounters struct {
	BytesReceived   int64 `json:"bytes_received"`
	BytesSent       int64 `json:"bytes_sent"`
	PacketsReceived int64 `json:"packets_received"`
	PacketsSent     int64 `json:"packets_sent"`
}

// NetworkLease is one DHCP lease or reservation (GET /1.0/networks/{name}/leases).
type NetworkLease struct {
	Hostname string `json:"hostname"`
	Hwaddr   string `json:"hwaddr"`
	Address  string `json:"address"`
	Type     string `json:"type"` // "dynamic" or "static"
	Location string `json:"location"`
}
