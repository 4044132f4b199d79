package profiles

import (
	"errors"
	"testing"

	"lite/client/api"
)

func TestValidateServerConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg map[string]string
		ok  bool
	}{
		{map[string]string{}, true},
		{map[string]string{"core.https_address": "127.0.0.1:8443"}, true},
		{map[string]string{"core.https_address": ":8443"}, true},
		{map[string]string{"core.https_address": "[::1]:8443"}, true},
		{map[string]string{"core.https_address": ""}, true},
		{map[string]string{"core.https_address": "localhost:8443"}, false},
		{map[string]string{"core.https_address": "127.0.0.1"}, false},
		{map[string]string{"core.https_address": "127.0.0.1:0"}, false},
		{map[string]string{"core.https_address": "127.0.0.1:70000"}, false},
		{map[string]string{"core.remote_token_expiry": "30m"}, true},
		{map[string]string{"core.remote_token_expiry": "0s"}, false},
		{map[string]string{"core.remote_token_expiry": "soon"}, false},
		{map[string]string{"core.trust_password": "x"}, false},
		{map[string]string{"user.x": "1"}, false},
	} {
		err := ValidateServerConfig(tc.cfg)
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, api.ErrInvalid) {
			t.Errorf("ValidateServerConfig(%v) = %v, want ok=%v", tc.cfg, err, tc.ok)
		}
	}
}
