package api

import "time"

// ImageMetadata is an image's metadata.yaml as LXD's API carries it (GET/PUT
// /1.0/instances/NAME/metadata): JSON on the wire, the same keys in YAML on disk.
type ImageMetadata struct {
	Architecture string                   `json:"architecture" yaml:"architecture"`
	CreationDate int64                    `json:"creation_date" yaml:"creation_date"`
	ExpiryDate   int64                    `json:"expiry_date,omitempty" yaml:"expiry_date,omitempty"`
	Properties   map[string]string        `json:"properties" yaml:"properties,omitempty"`
	Templates    map[string]ImageTemplate `json:"templates" yaml:"templates,omitempty"`
}

// ImageTemplate is one entry of metadata.yaml's templates: the guest path it renders is the
// map key.
type ImageTemplate struct {
	When       []string          `json:"when" yaml:"when"`
	CreateOnly bool              `json:"create_only" yaml:"create_only"`
	Template   string            `json:"template" yaml:"template"`
	Properties map[string]string `json:"properties" yaml:"properties,omitempty"`
}

// InstanceBackup is one stored backup of an instance (GET /1.0/instances/NAME/backups/B).
type InstanceBackup struct {
	Name             string    `json:"name"`
	CreatedAt        time.Time `json:"created_at"`
	ExpiresAt        time.Time `json:"expires_at"`
	InstanceOnly     bool      `json:"instance_only"`
	ContainerOnly    bool      `json:"container_only"`
	OptimizedStorage bool      `json:"optimized_storage"`
}

// InstanceBackupsPost creates a backup (POST /1.0/instances/NAME/backups).
type InstanceBackupsPost struct {
	Name                 string    `json:"name"`
	ExpiresAt            time.Time `json:"expires_at"`
	InstanceOnly         bool      `json:"instance_only"`
	ContainerOnly        bool      `json:"container_only"`
	OptimizedStorage     bool      `json:"optimized_storage"`
	CompressionAlgorithm string    `json:"compression_algorithm"`
}

// InstanceBackupPost renames a backup.
type InstanceBackupPost struct {
	Name string `json:"name"`
}
