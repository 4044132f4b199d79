package profiles

import (
	"errors"
	"testing"

	"lite/client/api"
)

func TestValidateSnapshotName(t *testing.T) {
	for _, ok := range []string{"snap0", "before-upgrade", "v1.2", "2024-01-01_10:00"} {
		if err := ValidateSnapshotName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a/b", "/", ".", "..", ".tmp-x", "a b", "x\n", string(make([]byte, 64))} {
		if err := ValidateSnapshotName(bad); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%q: got %v, want invalid", bad, err)
		}
	}
}
