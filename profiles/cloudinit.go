package profiles

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// cloudInitKeys are LXD's cloud-init keys. They reach the guest through the image's
// templates (the NoCloud seed under /var/lib/cloud/seed/nocloud-net), which read them with
// config_get; the older user.user-data, user.vendor-data and user.network-config are free
// user.* keys that the same templates fall back to.
var cloudInitKeys = map[string]Validator{
	"cloud-init.user-data":      Optional(IsCloudInitData),
	"cloud-init.vendor-data":    Optional(IsCloudInitData),
	"cloud-init.network-config": Optional(IsYAMLMap),
}

// IsCloudInitData accepts cloud-init user or vendor data: a "#cloud-config" document must
// be a YAML mapping; other formats (scripts, #include, MIME multipart) are passed as they are.
func IsCloudInitData(v string) error {
	first, _, _ := strings.Cut(v, "\n")
	if strings.TrimRight(first, " \r") != "#cloud-config" {
		return nil
	}
	if err := IsYAMLMap(v); err != nil {
		return fmt.Errorf("a #cloud-config document must be YAML: %v", err)
	}
	return nil
}

// IsYAMLMap accepts a YAML mapping (or an empty document).
func IsYAMLMap(v string) error {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(v), &m); err != nil {
		return fmt.Errorf("not a YAML mapping: %v", strings.ReplaceAll(err.Error(), "\n", " "))
	}
	return nil
}
