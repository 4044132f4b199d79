package profiles

import (
	"errors"
	"testing"

	"lite/client/api"
)

func TestCloudInitKeys(t *testing.T) {
	good := map[string]string{
		"cloud-init.user-data":      "#cloud-config\npackages: [nginx]\n",
		"cloud-init.vendor-data":    "#!/bin/sh\necho hi [ unbalanced\n",
		"cloud-init.network-config": "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n",
		"user.user-data":            "anything: [",
		"user.network-config":       "anything: [",
	}
	for k, v := range good {
		if err := ValidateInstanceKey(k, v, true); err != nil {
			t.Errorf("%s=%q refused: %v", k, v, err)
		}
	}
	for _, k := range []string{"cloud-init.user-data", "cloud-init.vendor-data", "cloud-init.network-config"} {
		if err := ValidateInstanceKey(k, "", true); err != nil {
			t.Errorf("%s unset refused: %v", k, err)
		}
	}
	bad := map[string]string{
		"cloud-init.user-data":      "#cloud-config\npackages: [nginx\n",
		"cloud-init.vendor-data":    "#cloud-config\n- a list\n",
		"cloud-init.network-config": "version: [",
		"cloud-init.meta-data":      "x: y",
	}
	for k, v := range bad {
		if err := ValidateInstanceKey(k, v, true); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%s=%q: %v, want ErrInvalid", k, v, err)
		}
	}
}
