package images

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
)

// builderVersion is part of every recipe key. Bump it whenever the builder's
// output changes for the same recipe (customization, masks, metadata,
// templates), so cached images built by an older lite are not reused.
const builderVersion = "4"

// DefaultMirror is the Debian archive used when neither the recipe nor the
// builder names one.
const DefaultMirror = "http://deb.debian.org/debian"

// Recipe describes one image the builder can make with debootstrap.
type Recipe struct {
	// OS is the lower-case distribution name ("debian").
	OS string
	// Release is the version number ("12").
	Release string
	// Suite is the archive code name debootstrap is given ("bookworm").
	Suite string
	// Variant names the flavour of the image ("default").
	Variant string
	// Aliases are the names the recipe is known by ("debian/12",
	// "debian/bookworm").
	Aliases []string
	// Packages are installed on top of debootstrap's minbase variant.
	Packages []string
	// Mirror is the Debian archive to use; empty means the builder's mirror
	// or DefaultMirror. It is written into the image's apt sources.
	Mirror string
	// Keyring is the archive keyring debootstrap verifies the release with;
	// empty means debootstrap's default (Debian's keyring).
	Keyring string
	// Script is the debootstrap script to use when debootstrap has none named
	// after the suite (Debian 12's has none for Ubuntu noble; gutsy's fits).
	Script string
	// Components are the archive components; empty means main.
	Components []string
}

// basePackages are installed in every Debian image; systemd-resolved is added
// for the releases where it is its own package (bookworm and later; in
// bullseye it ships inside systemd).
var basePackages = []string{
	"systemd", "systemd-sysv", "dbus", "openssh-server", "cron", "iproute2",
	"iputils-ping", "netbase", "procps", "less", "ca-certificates",
}

// debianReleases lists the Debian releases the builder knows.
var debianReleases = []struct {
	version, suite string
	resolved       bool
}{
	{"11", "bullseye", false},
	{"12", "bookworm", true},
	{"13", "trixie", true},
}

// recipes returns the table of known recipes, freshly built so callers may
// modify what they get.
func recipes() []Recipe {
	out := make([]Recipe, 0, len(debianReleases))
	for _, rel := range debianReleases {
		pkgs := slices.Clone(basePackages)
		if rel.resolved {
			pkgs = append(pkgs, "systemd-resolved")
		}
		out = append(out, Recipe{
			OS:       "debian",
			Release:  rel.version,
			Suite:    rel.suite,
			Variant:  "default",
			Aliases:  []string{"debian/" + rel.version, "debian/" + rel.suite},
			Packages: pkgs,
		})
	}
	return out
}

// LookupRecipe returns the recipe known by name ("debian/12",
// "debian/bookworm", "ubuntu/24.04", "ubuntu", case-insensitive), and
// whether there is one.
func LookupRecipe(name string) (Recipe, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, r := range append(recipes(), ubuntuRecipes()...) {
		if slices.Contains(r.Aliases, name) {
			return r, true
		}
	}
	return Recipe{}, false
}

// Recipes returns every recipe the builder knows, in release order.
func Recipes() []Recipe {
	return append(recipes(), ubuntuRecipes()...)
}

// Key returns a short hash of everything that affects the built image: the
// recipe's fields except its aliases, the target architecture and the
// builder's version. Two recipes with the same key build equivalent images,
// so the key names the cached tarball.
func (r Recipe) Key() string {
	pkgs := slices.Clone(r.Packages)
	slices.Sort(pkgs)
	pkgs = slices.Compact(pkgs)
	in := struct {
		Version  string   `json:"v"`
		Arch     string   `json:"arch"`
		OS       string   `json:"os"`
		Release  string   `json:"release"`
		Suite    string   `json:"suite"`
		Variant  string   `json:"variant"`
		Packages []string `json:"packages"`
		Mirror   string   `json:"mirror"`
		// New fields are omitted when empty, so Debian keys (and caches) stay as they were.
		Keyring    string   `json:"keyring,omitempty"`
		Script     string   `json:"script,omitempty"`
		Components []string `json:"components,omitempty"`
	}{builderVersion, hostDebianArch(), r.OS, r.Release, r.Suite, r.Variant, pkgs, r.Mirror, r.Keyring, r.Script, r.Components}
	// Marshalling a struct of strings cannot fail.
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:12]
}

// displayOS returns the distribution name as image properties show it
// ("Debian").
func (r Recipe) displayOS() string {
	if r.OS == "" {
		return ""
	}
	return strings.ToUpper(r.OS[:1]) + r.OS[1:]
}
