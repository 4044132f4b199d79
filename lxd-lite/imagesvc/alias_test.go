package imagesvc

import (
	"errors"
	"strings"
	"testing"

	"lite/client/api"
)

func TestValidateAliasName(t *testing.T) {
	for _, ok := range []string{"debian/12", "web", "my-image_1.0", "ubuntu/24.04/cloud", "a.b", "..x", "x.."} {
		if err := ValidateAliasName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	bad := []string{
		"", "../x", "../../../../etc/passwd", "/etc/passwd", "a/../b", "a/..", "..", ".", "./x", "a/./b",
		"a//b", "x/", "/", "remote:alias", "a\nb", "a\rb", "a\x00b", "a\tb", "\x1b[31m", "a\x7f",
		strings.Repeat("a", 256),
	}
	for _, name := range bad {
		if err := ValidateAliasName(name); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%q: err = %v, want ErrInvalid", name, err)
		}
	}
}
