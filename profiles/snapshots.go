package profiles

import (
	"fmt"
	"strings"

	"lite/client/api"
)

// ValidateSnapshotName checks a snapshot name: it becomes a directory name and the last segment
// of an API path, so it must be non-empty, at most 63 characters, without "/" or spaces, not
// "." or "..", and not start with "." (lited's temporary files do).
func ValidateSnapshotName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("invalid snapshot name %q: %s: %w", name, why, api.ErrInvalid)
	}
	switch {
	case name == "":
		return bad("it is empty")
	case len(name) > 63:
		return bad("longer than 63 characters")
	case strings.Contains(name, "/"):
		return bad("it must not contain \"/\"")
	case name[0] == '.':
		return bad("it must not start with \".\"")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '+' || r == ':' || r == '@') {
			return bad(fmt.Sprintf("character %q is not allowed (use letters, digits and -_.+:@)", r))
		}
	}
	return nil
}
