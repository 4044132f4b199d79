package images

import (
	"fmt"

	"lite/client/osarch"
)

// NormalizeArchitecture returns LXD's name ("x86_64") for any known spelling
// of an architecture ("amd64", "x86_64"...), or an error wrapping ErrInvalid.
func NormalizeArchitecture(name string) (string, error) {
	arch, ok := osarch.Normalize(name)
	if !ok {
		return "", fmt.Errorf("architecture %q: %w", name, ErrInvalid)
	}
	return arch, nil
}

// HostArchitecture returns LXD's name for the architecture lite runs on.
func HostArchitecture() string { return osarch.Host() }

// hostDebianArch returns Debian's name for the architecture lite runs on,
// which is what the builder makes images for.
func hostDebianArch() string { return osarch.HostDebian() }

// personalities are the architectures a host of one architecture also runs (32-bit
// binaries on a 64-bit kernel).
var personalities = map[string][]string{
	"x86_64":  {"i686"},
	"aarch64": {"armv7l"},
}

// CheckHostArchitecture refuses an architecture this host cannot run, with LXD's message.
// Errors wrap ErrInvalid.
func CheckHostArchitecture(name string) error {
	host := HostArchitecture()
	arch, err := NormalizeArchitecture(name)
	if err == nil && arch == host {
		return nil
	}
	for _, p := range personalities[host] {
		if arch == p {
			return nil
		}
	}
	return fmt.Errorf("Requested architecture isn't supported by this host (%q on %s): %w", name, host, ErrInvalid)
}
