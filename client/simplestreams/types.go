// Package simplestreams is a read-only client of simplestreams image servers (the protocol
// of images.linuxcontainers.org and cloud-images.ubuntu.com, as LXD and Incus read it), and a
// small writer that publishes images as such a tree, for offline mirrors and tests.
package simplestreams

import "errors"

// Error kinds, wrapped; callers map them with errors.Is.
var (
	// ErrNotFound means no image on the server matches the name.
	ErrNotFound = errors.New("not found")
	// ErrInvalid means the server sent something malformed or that fails verification.
	ErrInvalid = errors.New("invalid")
)

// Index is streams/v1/index.json.
type Index struct {
	Format string                `json:"format"`
	Index  map[string]IndexEntry `json:"index"`
}

// IndexEntry points at one products file.
type IndexEntry struct {
	DataType string   `json:"datatype"`
	Path     string   `json:"path"`
	Format   string   `json:"format"`
	Products []string `json:"products"`
}

// Products is a products file (streams/v1/images.json).
type Products struct {
	ContentID string             `json:"content_id"`
	DataType  string             `json:"datatype"`
	Format    string             `json:"format"`
	Products  map[string]Product `json:"products"`
}

// Product is one os/release/arch/variant with its versions.
type Product struct {
	Aliases         string             `json:"aliases"`
	Arch            string             `json:"arch"`
	OS              string             `json:"os"`
	Release         string             `json:"release"`
	ReleaseTitle    string             `json:"release_title"`
	Variant         string             `json:"variant"`
	Requirements    map[string]string  `json:"requirements,omitempty"`
	LXDRequirements map[string]string  `json:"lxd_requirements,omitempty"`
	Versions        map[string]Version `json:"versions"`
}

// Version is one build of a product.
type Version struct {
	Label string          `json:"label,omitempty"`
	Items map[string]Item `json:"items"`
}

// Item is one file of a version; Ftype says what it is.
type Item struct {
	Ftype                  string `json:"ftype"`
	Path                   string `json:"path"`
	Size                   int64  `json:"size"`
	SHA256                 string `json:"sha256"`
	CombinedSHA256         string `json:"combined_sha256,omitempty"`
	CombinedSquashfsSHA256 string `json:"combined_squashfs_sha256,omitempty"`
	CombinedRootxzSHA256   string `json:"combined_rootxz_sha256,omitempty"`
	DeltaBase              string `json:"delta_base,omitempty"`
}

// File is one file to download.
type File struct {
	Path   string // relative to the server's base URL
	Size   int64
	SHA256 string
}

// Image is one downloadable image as the client resolves it.
type Image struct {
	Fingerprint  string
	Aliases      []string // expanded: each alias, and alias/<arch>
	Architecture string   // LXD's name (x86_64)
	Properties   map[string]string
	Serial       string // the version key
	RootType     string // "squashfs", "root.tar.xz", or "" for a unified image
	Meta         File   // the metadata tarball, or the unified image
	Rootfs       *File  // nil for a unified image
}

// Metadata ftypes (LXD's and Incus's names), and root ftypes in order of preference.
var (
	splitMetaTypes   = []string{"lxd.tar.xz", "incus.tar.xz"}
	unifiedMetaTypes = []string{"lxd_combined.tar.gz", "incus_combined.tar.gz"}
	rootTypes        = []string{"squashfs", "root.tar.xz"}
)
