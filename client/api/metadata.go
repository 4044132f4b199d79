package api

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
