package images

import "slices"

// cloudInitSeed is where cloud-init's NoCloud data source reads an LXD container's data.
const cloudInitSeed = "/var/lib/cloud/seed/nocloud-net/"

// cloudInitSeedFile is one file of the NoCloud seed: the config keys it renders, newest
// first (LXD's cloud-init.* keys, then the older user.* ones), and the default.
type cloudInitSeedFile struct {
	name, template string
	keys           []string
	def            string
}

var cloudInitSeedFiles = []cloudInitSeedFile{
	{name: "user-data", template: "cloud-init-user.tpl", keys: []string{"cloud-init.user-data", "user.user-data"},
		def: "#cloud-config\n{}"},
	{name: "vendor-data", template: "cloud-init-vendor.tpl", keys: []string{"cloud-init.vendor-data", "user.vendor-data"},
		def: "#cloud-config\n{}"},
	{name: "network-config", template: "cloud-init-network.tpl", keys: []string{"cloud-init.network-config", "user.network-config"},
		def: "version: 1\nconfig:\n  - type: physical\n    name: eth0\n    subnets:\n      - type: dhcp\n        control: auto"},
}

// cloudInitMetaTemplate is the seed's meta-data, as LXD's images write it.
const cloudInitMetaTemplate = "instance-id: {{ container.name }}\nlocal-hostname: {{ container.name }}\n" +
	"{{ config_get(\"user.meta-data\", \"\") }}\n"

// CloudInitTemplates returns the templates (metadata.yaml entries, by guest path) and the
// template files (by name) that hand an instance's cloud-init keys to cloud-init through the
// NoCloud seed, as LXD's images (distrobuilder's cloud-init generator) do: the cloud-init.*
// key if set, else the older user.* key, else the entry's default. They apply on create and
// copy, so a copy gets its own instance-id.
func CloudInitTemplates() (map[string]Template, map[string]string) {
	when := []string{TriggerCreate, TriggerCopy}
	entries := map[string]Template{cloudInitSeed + "meta-data": {When: when, Template: "cloud-init-meta.tpl"}}
	files := map[string]string{"cloud-init-meta.tpl": cloudInitMetaTemplate}
	for _, f := range cloudInitSeedFiles {
		entries[cloudInitSeed+f.name] = Template{When: when, Template: f.template, Properties: map[string]string{"default": f.def}}
		files[f.template] = `{%- if config_get("` + f.keys[0] + `", "") != "" -%}{{ config_get("` + f.keys[0] + `", "") }}` +
			`{%- else -%}{{ config_get("` + f.keys[1] + `", properties.default) }}{%- endif %}` + "\n"
	}
	return entries, files
}

// withCloudInit adds the NoCloud seed templates to an image whose packages include
// cloud-init (lite image build debian/12 --include cloud-init).
func withCloudInit(r Recipe, meta *Metadata, tpls map[string]string) {
	if !slices.Contains(r.Packages, "cloud-init") {
		return
	}
	entries, files := CloudInitTemplates()
	for p, t := range entries {
		meta.Templates[p] = t
	}
	for n, body := range files {
		tpls[n] = body
	}
}
