package profiles

import (
	"fmt"
	"regexp"

	"lite/client/api"
)

// ValidateInstanceName applies LXD's rule: a valid hostname label, at most 63 characters,
// letters, digits and dashes, not starting with a digit or a dash, not ending with a dash.
func ValidateInstanceName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("invalid instance name %q: %s: %w", name, why, api.ErrInvalid)
	}
	switch {
	case name == "":
		return bad("it is empty")
	case len(name) > 63:
		return bad("longer than 63 characters")
	case name[0] == '-' || name[len(name)-1] == '-':
		return bad("it must not start or end with a dash")
	case name[0] >= '0' && name[0] <= '9':
		return bad("it must not start with a digit")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return bad(fmt.Sprintf("character %q is not allowed (use letters, digits and dashes)", r))
		}
	}
	return nil
}

// ValidateProfileName accepts a non-empty name without slashes, spaces or control
// characters, and not "." or "..", as profile names appear in URLs and YAML.
func ValidateProfileName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("invalid profile name %q: %s: %w", name, why, api.ErrInvalid)
	}
	switch {
	case name == "":
		return bad("it is empty")
	case len(name) > 63:
		return bad("longer than 63 characters")
	case name == "." || name == "..":
		return bad("it is a path element")
	}
	for _, r := range name {
		if r == '/' || r <= ' ' || r == 0x7f || r == '"' || r == '\'' || r == '\\' {
			return bad(fmt.Sprintf("character %q is not allowed", r))
		}
	}
	return nil
}

// ValidateMemberName applies the rule for a cluster member's name: a host name label of
// lowercase letters, digits and dashes (1-63), not starting or ending with a dash.
func ValidateMemberName(name string) error {
	if !memberNameRe.MatchString(name) {
		return fmt.Errorf("member name %q: use 1-63 lowercase letters, digits and dashes, not starting or ending with a dash: %w", name, api.ErrInvalid)
	}
	return nil
}

var memberNameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
