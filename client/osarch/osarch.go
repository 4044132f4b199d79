// Package osarch names CPU architectures as LXD does ("x86_64", "aarch64"...) and maps them to
// Debian's and Go's names. It is a standard-library-only leaf, so that the image code, the
// simplestreams reader and the CLI share one table.
package osarch

import (
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

// Normalize returns LXD's name ("x86_64") for any known spelling of an architecture
// ("amd64", "x86_64"...); ok is false for a name it does not know.
func Normalize(name string) (arch string, ok bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, a := range architectures {
		if n == a.lxd {
			return a.lxd, true
		}
		for _, al := range a.aliases {
			if n == al {
				return a.lxd, true
			}
		}
	}
	return "", false
}

// Host returns LXD's name for the architecture lite runs on.
func Host() string {
	for _, a := range architectures {
		if a.goarch == runtime.GOARCH {
			return a.lxd
		}
	}
	return runtime.GOARCH
}

// HostDebian returns Debian's name for the architecture lite runs on.
func HostDebian() string {
	for _, a := range architectures {
		if a.goarch == runtime.GOARCH {
			return a.debian
		}
	}
	return runtime.GOARCH
}
