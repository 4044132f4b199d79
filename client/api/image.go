package api

import "time"

// ImagePut is the writable part of an image.
type ImagePut struct {
	AutoUpdate bool              `json:"auto_update"`
	Properties map[string]string `json:"properties"`
	Public     bool              `json:"public"`
	ExpiresAt  time.Time         `json:"expires_at"`
	Profiles   []string          `json:"profiles"`
}

// Image is GET /1.0/images/{fingerprint}.
type Image struct {
	ImagePut
	Aliases      []ImageAlias `json:"aliases"`
	Architecture string       `json:"architecture"`
	Cached       bool         `json:"cached"`
	Filename     string       `json:"filename"`
	Fingerprint  string       `json:"fingerprint"`
	Size         int64        `json:"size"`
	Type         string       `json:"type"`
	CreatedAt    time.Time    `json:"created_at"`
	LastUsedAt   time.Time    `json:"last_used_at"`
	UploadedAt   time.Time    `json:"uploaded_at"`
}

// ImageAlias is an alias as listed inside an image.
type ImageAlias struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// ImageAliasesEntry is GET /1.0/images/aliases/{name}.
type ImageAliasesEntry struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Target      string `json:"target"`
	Type        string `json:"type"`
}

// ImagesPost is POST /1.0/images with a JSON body: publish an instance, or pull from a
// remote (source type "image").
type ImagesPost struct {
	ImagePut
	Filename string            `json:"filename"`
	Source   *ImagesPostSource `json:"source"`
	Aliases  []ImageAlias      `json:"aliases"`
}

// ImagesPostSource says where a new image comes from.
type ImagesPostSource struct {
	Type        string `json:"type"` // instance, container, snapshot, image, url
	Name        string `json:"name,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Alias       string `json:"alias,omitempty"`
	Server      string `json:"server,omitempty"`
	Protocol    string `json:"protocol,omitempty"`
	Mode        string `json:"mode,omitempty"`
	Certificate string `json:"certificate,omitempty"`
	URL         string `json:"url,omitempty"`
	// Mirror and Include are lite's extension for source type "build" (a builder recipe):
	// the archive to build from and extra packages to install.
	Mirror  string   `json:"mirror,omitempty"`
	Include []string `json:"include,omitempty"`
}

// ImageAliasesPost is POST /1.0/images/aliases.
type ImageAliasesPost struct {
	ImageAliasesEntry
}

// ImageAliasesEntryPut is PUT /1.0/images/aliases/{name}.
type ImageAliasesEntryPut struct {
	Description string `json:"description"`
	Target      string `json:"target"`
}

// ImageAliasesEntryPost renames an alias (POST /1.0/images/aliases/{name}).
type ImageAliasesEntryPost struct {
	Name string `json:"name"`
}
