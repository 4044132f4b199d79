package images

import (
	"fmt"
	"runtime"
	"strings"
)

// architecture maps one LXD architecture name to its Debian and Go names.
type architecture struct {
	lxd, debian, goarch string
	aliases             []string
}

// architectures are the ones LXD knows and lite can name; the aliases are
// the other spellings image metadata uses.
var architectures = []architecture{
	{"x86_64", "amd64", "amd64", []string{"amd64", "x86-64", "x64"}},
	{"i686", "i386", "386", []string{"i386", "i486", "i586", "x86"}},
	{"aarch64", "arm64", "arm64", []string{"arm64", "arm64-v8a"}},
	{"armv7l", "armhf", "arm", []string{"armhf", "armv7", "armhfp", "armv7a_hardfp", "armv7hl"}},
	{"armv6l", "armel", "", []string{"armel", "armv6"}},
	{"ppc64le", "ppc64el", "ppc64le", []string{"ppc64el"}},
	{"ppc64", "ppc64", "ppc64", []string{"powerpc64"}},
	{"s390x", "s390x", "s390x", nil},
	{"riscv64", "riscv64", "riscv64", nil},
	{"mips64", "mips64el", "mips64le", []string{"mips64el"}},
	{"loongarch64", "loong64", "loong64", []string{"loong64"}},
}

// NormalizeArchitecture returns LXD's name ("x86_64") for any known spelling
// of an architecture ("amd64", "x86_64"...), or an error wrapping ErrInvalid.
func NormalizeArchitecture(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, a := range architectures {
		if n == a.lxd {
			return a.lxd, nil
		}
		for _, al := range a.aliases {
			if n == al {
				return a.lxd, nil
			}
		}
	}
	return "", fmt.Errorf("architecture %q: %w", name, ErrInvalid)
}

// HostArchitecture returns LXD's name for the architecture lite runs on.
func HostArchitecture() string {
	for _, a := range architectures {
		if a.goarch == runtime.GOARCH {
			return a.lxd
		}
	}
	return runtime.GOARCH
}

// hostDebianArch returns Debian's name for the architecture lite runs on,
// which is what the builder makes images for.
func hostDebianArch() string {
	for _, a := range architectures {
		if a.goarch == runtime.GOARCH {
			return a.debian
		}
	}
	return runtime.GOARCH
}

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
