package images

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"lite/lxd-lite/idmap"

	"gopkg.in/yaml.v3"
)

// TestCloudInitTemplates: an image built with cloud-init gets the NoCloud seed templates
// (one without it does not), and they render LXD's keys: cloud-init.* first, then the older
// user.* keys, then the defaults; meta-data names the instance.
func TestCloudInitTemplates(t *testing.T) {
	requireRoot(t)
	r, _ := LookupRecipe("debian/12")
	if meta, _ := imageMetadata(r, time.Unix(1700000000, 0)); meta.Templates[cloudInitSeed+"user-data"].Template != "" {
		t.Fatal("an image without cloud-init got the seed templates")
	}
	r.Packages = append(slices.Clone(r.Packages), "cloud-init")
	meta, tpls := imageMetadata(r, time.Unix(1700000000, 0))
	data, err := yaml.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cfg  map[string]string
		want map[string]string
	}{
		{"defaults", map[string]string{}, map[string]string{
			"meta-data": "instance-id: c1\nlocal-hostname: c1\n\n",
			"user-data": "#cloud-config\n{}\n", "vendor-data": "#cloud-config\n{}\n",
			"network-config": cloudInitSeedFiles[2].def + "\n",
		}},
		{"old keys", map[string]string{"user.user-data": "#cloud-config\nold: 1\n", "user.vendor-data": "#!/bin/sh\n",
			"user.network-config": "version: 2\n", "user.meta-data": "x: y"}, map[string]string{
			"meta-data": "instance-id: c1\nlocal-hostname: c1\nx: y\n",
			"user-data": "#cloud-config\nold: 1\n", "vendor-data": "#!/bin/sh\n", "network-config": "version: 2\n",
		}},
		{"new keys win", map[string]string{"user.user-data": "#cloud-config\nold: 1", "cloud-init.user-data": "#cloud-config\nnew: 1",
			"cloud-init.vendor-data": "#cloud-config\nv: 1", "cloud-init.network-config": "version: 1\nconfig: []"}, map[string]string{
			"user-data": "#cloud-config\nnew: 1\n", "vendor-data": "#cloud-config\nv: 1\n", "network-config": "version: 1\nconfig: []\n",
		}},
	} {
		layer, rootfs := templateFixture(t, string(data), tpls)
		if err := RenderTemplates(layer, rootfs, TriggerCreate, TemplateContext{Name: "c1", Config: c.cfg}, idmap.Map{}); err != nil {
			t.Fatal(err)
		}
		for name, want := range c.want {
			got, err := os.ReadFile(filepath.Join(rootfs, cloudInitSeed, name))
			if err != nil || string(got) != want {
				t.Errorf("%s: %s = %q %v, want %q", c.name, name, got, err, want)
			}
		}
	}
}
