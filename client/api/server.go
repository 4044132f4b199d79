package api

// Server is GET /1.0.
type Server struct {
	ServerPut
	APIExtensions []string          `json:"api_extensions"`
	APIStatus     string            `json:"api_status"`
	APIVersion    string            `json:"api_version"`
	Auth          string            `json:"auth"`
	Public        bool              `json:"public"`
	AuthMethods   []string          `json:"auth_methods"`
	Environment   ServerEnvironment `json:"environment"`
}

// ServerPut is the writable part of the server (PUT /1.0).
type ServerPut struct {
	Config map[string]string `json:"config"`
}

// ServerEnvironment describes the host and daemon.
type ServerEnvironment struct {
	Addresses               []string          `json:"addresses"`
	Architectures           []string          `json:"architectures"`
	Certificate             string            `json:"certificate"`
	CertificateFingerprint  string            `json:"certificate_fingerprint"`
	Driver                  string            `json:"driver"`
	DriverVersion           string            `json:"driver_version"`
	Firewall                string            `json:"firewall"`
	Kernel                  string            `json:"kernel"`
	KernelArchitecture      string            `json:"kernel_architecture"`
	KernelFeatures          map[string]string `json:"kernel_features"`
	KernelVersion           string            `json:"kernel_version"`
	LXCFeatures             map[string]string `json:"lxc_features"`
	OSName                  string            `json:"os_name"`
	OSVersion               string            `json:"os_version"`
	Project                 string            `json:"project"`
	Server                  string            `json:"server"`
	ServerClustered         bool              `json:"server_clustered"`
	ServerEventMode         string            `json:"server_event_mode"`
	ServerName              string            `json:"server_name"`
	ServerPid               int               `json:"server_pid"`
	ServerVersion           string            `json:"server_version"`
	Storage                 string            `json:"storage"`
	StorageVersion          string            `json:"storage_version"`
	StorageSupportedDrivers []any             `json:"storage_supported_drivers"`
}
