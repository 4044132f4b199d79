package api

import "time"

// InstanceSnapshotPut is the writable part of a snapshot (PUT .../snapshots/{snap}).
type InstanceSnapshotPut struct {
	ExpiresAt time.Time `json:"expires_at"`
}

// InstanceSnapshot is GET /1.0/instances/{name}/snapshots/{snap}: the instance's config,
// devices and profiles as they were when it was taken.
type InstanceSnapshot struct {
	InstanceSnapshotPut
	Name            string                       `json:"name"`
	Architecture    string                       `json:"architecture"`
	Config          map[string]string            `json:"config"`
	Devices         map[string]map[string]string `json:"devices"`
	Ephemeral       bool                         `json:"ephemeral"`
	Profiles        []string                     `json:"profiles"`
	Stateful        bool                         `json:"stateful"`
	Description     string                       `json:"description"`
	CreatedAt       time.Time                    `json:"created_at"`
	LastUsedAt      time.Time                    `json:"last_used_at"`
	ExpandedConfig  map[string]string            `json:"expanded_config"`
	ExpandedDevices map[string]map[string]string `json:"expanded_devices"`
	Size            int64                        `json:"size"`
	Location        string                       `json:"location"`
}

// InstanceSnapshotsPost is POST /1.0/instances/{name}/snapshots. An empty name picks the next
// free snapN; Reuse replaces an existing snapshot of that name.
type InstanceSnapshotsPost struct {
	Name      string     `json:"name"`
	Stateful  bool       `json:"stateful"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Reuse     bool       `json:"reuse"`
}

// InstanceSnapshotPost renames a snapshot (POST .../snapshots/{snap}).
type InstanceSnapshotPost struct {
	Name      string `json:"name"`
	Migration bool   `json:"migration"`
	Live      bool   `json:"live"`
}
