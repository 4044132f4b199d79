package images

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxMetadataSize bounds metadata.yaml and each template file: both are read
// whole into memory from untrusted images.
const maxMetadataSize = 1 << 20

// Triggers on which a template can be applied, as in LXD.
const (
	TriggerCreate = "create"
	TriggerCopy   = "copy"
	TriggerStart  = "start"
	TriggerRename = "rename"
)

// Metadata is an image's metadata.yaml, with LXD's field names.
type Metadata struct {
	// Architecture is any spelling LXD accepts; NormalizeArchitecture gives
	// the canonical one.
	Architecture string `yaml:"architecture"`
	// CreationDate is in unix seconds and never 0 in a valid image.
	CreationDate int64 `yaml:"creation_date"`
	// ExpiryDate is in unix seconds; 0 means none.
	ExpiryDate int64 `yaml:"expiry_date,omitempty"`
	// Properties describe the image (os, release, description...).
	Properties map[string]string `yaml:"properties,omitempty"`
	// Templates maps a path in the guest to the template rendering it.
	Templates map[string]Template `yaml:"templates,omitempty"`
}

// Template is one entry of metadata.yaml's templates map.
type Template struct {
	// When lists the triggers (create, copy, start, rename) applying it.
	When []string `yaml:"when"`
	// CreateOnly means: only write the file if it does not exist yet.
	CreateOnly bool `yaml:"create_only"`
	// Template is the file name under the image's templates/ directory.
	Template string `yaml:"template"`
	// Properties are exposed to the template as `properties`.
	Properties map[string]string `yaml:"properties,omitempty"`
	// UID, GID and Mode (octal) are Incus's optional overrides for the
	// owner and mode of the written file, as container ids.
	UID  string `yaml:"uid,omitempty"`
	GID  string `yaml:"gid,omitempty"`
	Mode string `yaml:"mode,omitempty"`
}

// ParseMetadata parses and validates the bytes of a metadata.yaml. Errors
// wrap ErrInvalid.
func ParseMetadata(data []byte) (Metadata, error) {
	var m Metadata
	if err := DecodeYAML(data, &m); err != nil {
		return Metadata{}, fmt.Errorf("parse metadata.yaml: %w", err)
	}
	if err := m.Validate(); err != nil {
		return Metadata{}, err
	}
	if m.Properties == nil {
		m.Properties = map[string]string{}
	}
	if m.Templates == nil {
		m.Templates = map[string]Template{}
	}
	return m, nil
}

// Validate checks what LXD checks on import (a known architecture, a
// creation date) and that template entries are usable and name files inside
// templates/. Errors wrap ErrInvalid.
func (m Metadata) Validate() error {
	if m.Architecture == "" {
		return fmt.Errorf("metadata.yaml: missing architecture: %w", ErrInvalid)
	}
	if _, err := NormalizeArchitecture(m.Architecture); err != nil {
		return fmt.Errorf("metadata.yaml: %w", err)
	}
	if m.CreationDate == 0 {
		return fmt.Errorf("metadata.yaml: missing creation_date: %w", ErrInvalid)
	}
	for path, t := range m.Templates {
		if path == "" || strings.ContainsRune(path, 0) || !validTemplateName(strings.TrimPrefix(path, "/")) {
			return fmt.Errorf("metadata.yaml: template target %q: %w", path, ErrInvalid)
		}
		if !validTemplateName(t.Template) {
			return fmt.Errorf("metadata.yaml: template %q for %q: %w", t.Template, path, ErrInvalid)
		}
		for _, w := range t.When {
			if !slices.Contains([]string{TriggerCreate, TriggerCopy, TriggerStart, TriggerRename}, w) {
				return fmt.Errorf("metadata.yaml: template for %q: trigger %q: %w", path, w, ErrInvalid)
			}
		}
	}
	return nil
}

// DecodeYAML decodes a YAML document from an untrusted source (an image's metadata.yaml, a
// backup's index.yaml) into v. Anchors and aliases are refused before anything is expanded:
// LXD's files never use them, and a few nested aliases ("billion laughs") would expand to
// gigabytes. Errors wrap ErrInvalid.
func DecodeYAML(data []byte, v any) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%v: %w", err, ErrInvalid)
	}
	if err := noAliases(&doc, 0); err != nil {
		return err
	}
	if doc.Kind == 0 {
		return nil // an empty document
	}
	if err := doc.Decode(v); err != nil {
		return fmt.Errorf("%v: %w", err, ErrInvalid)
	}
	return nil
}

// maxYAMLDepth bounds the nesting of an untrusted YAML document.
const maxYAMLDepth = 64

func noAliases(n *yaml.Node, depth int) error {
	if depth > maxYAMLDepth {
		return fmt.Errorf("line %d: nested deeper than %d levels: %w", n.Line, maxYAMLDepth, ErrInvalid)
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return fmt.Errorf("line %d: YAML anchors and aliases are not allowed: %w", n.Line, ErrInvalid)
	}
	for _, c := range n.Content {
		if err := noAliases(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// validTemplateName accepts a relative path under templates/ without any
// ".." component.
func validTemplateName(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsRune(name, 0) {
		return false
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return false
		}
	}
	return true
}

// ReadMetadata reads and validates metadata.yaml from an image tarball
// (unified, or the metadata part of a split image), whatever its
// compression. Errors wrap ErrInvalid when the image is malformed.
func ReadMetadata(path string) (Metadata, error) {
	rc, _, err := openTarball(path)
	if err != nil {
		return Metadata{}, err
	}
	defer rc.Close()
	data, err := findMetadata(tar.NewReader(rc))
	if err != nil {
		return Metadata{}, fmt.Errorf("image %s: %w", path, err)
	}
	m, err := ParseMetadata(data)
	if err != nil {
		return Metadata{}, fmt.Errorf("image %s: %w", path, err)
	}
	return m, nil
}

// findMetadata returns the content of the first metadata.yaml entry.
func findMetadata(tr *tar.Reader) ([]byte, error) {
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("no metadata.yaml: %w", ErrInvalid)
		}
		if err != nil {
			return nil, fmt.Errorf("read tar: %v: %w", err, ErrInvalid)
		}
		rel, _, err := cleanEntryName(hdr.Name, defaultLimits.pathLen)
		if err != nil {
			return nil, err
		}
		if rel != "metadata.yaml" {
			continue
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("metadata.yaml is not a regular file: %w", ErrInvalid)
		}
		if hdr.Size > maxMetadataSize {
			return nil, fmt.Errorf("metadata.yaml is %d bytes: %w", hdr.Size, ErrInvalid)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("read metadata.yaml: %v: %w", err, ErrInvalid)
		}
		return data, nil
	}
}

// CheckTemplates verifies an unpacked image: each template its
// metadata.yaml names must be a regular file inside layerDir/templates,
// reached without following any symlink. Errors wrap ErrInvalid.
func CheckTemplates(layerDir string) error {
	data, err := readFileBeneath(layerDir, "metadata.yaml", maxMetadataSize)
	if err != nil {
		return fmt.Errorf("metadata.yaml: %v: %w", err, ErrInvalid)
	}
	m, err := ParseMetadata(data)
	if err != nil {
		return err
	}
	for target, t := range m.Templates {
		if _, err := readFileBeneath(layerDir, path.Join("templates", t.Template), maxMetadataSize); err != nil {
			return fmt.Errorf("template %q for %s: %v: %w", t.Template, target, err, ErrInvalid)
		}
	}
	return nil
}
