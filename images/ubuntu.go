package images

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ubuntuReleases are the Ubuntu LTS releases the builder knows, oldest first; the last is
// what "ubuntu" means. script names the debootstrap script used when debootstrap has none
// for the suite (Debian 12's debootstrap stops at jammy, which is itself gutsy's script).
var ubuntuReleases = []struct {
	version, suite, script string
	resolved               bool
}{
	{"22.04", "jammy", "", false},
	{"24.04", "noble", "gutsy", true},
}

// ErrUnconfigured means a recipe needs builder settings this machine lacks.
var ErrUnconfigured = fmt.Errorf("builder not configured: %w", ErrInvalid)

// ubuntuRecipes returns the Ubuntu recipes. They need a mirror and the archive keyring from
// the builder (UbuntuMirror, UbuntuKeyring): neither ships with Debian.
func ubuntuRecipes() []Recipe {
	out := make([]Recipe, 0, len(ubuntuReleases))
	for i, rel := range ubuntuReleases {
		pkgs := slices.Clone(basePackages)
		if rel.resolved {
			pkgs = append(pkgs, "systemd-resolved")
		}
		r := Recipe{
			OS: "ubuntu", Release: rel.version, Suite: rel.suite, Variant: "default",
			Aliases:    []string{"ubuntu/" + rel.version, "ubuntu/" + rel.suite},
			Packages:   pkgs,
			Script:     rel.script,
			Components: []string{"main", "universe"},
		}
		if i == len(ubuntuReleases)-1 {
			r.Aliases = append(r.Aliases, "ubuntu", "ubuntu/lts")
		}
		out = append(out, r)
	}
	return out
}

// DebootstrapPlan is the command a build runs, worked out without running anything.
type DebootstrapPlan struct {
	Suite    string
	Mirror   string
	Keyring  string
	Packages []string
	// Args are debootstrap's arguments, target dir included.
	Args []string
}

// debootstrapScripts is where Debian's debootstrap keeps its suite scripts.
const debootstrapScripts = "/usr/share/debootstrap/scripts"

// Plan returns the debootstrap command for r into rootfs, with the builder's defaults
// applied. An Ubuntu recipe without a configured mirror and keyring fails with an error
// wrapping ErrUnconfigured that says what to configure instead.
func (b *Builder) Plan(r Recipe, rootfs string) (DebootstrapPlan, error) {
	r = b.effective(r)
	if r.OS == "ubuntu" && (r.Mirror == "" || r.Keyring == "") {
		return DebootstrapPlan{}, fmt.Errorf("lite cannot build %s/%s on this machine: no Ubuntu archive is configured "+
			"(Debian ships neither Ubuntu's mirror list nor its archive keyring). Either start lited with "+
			"--ubuntu-mirror URL --ubuntu-keyring /path/to/ubuntu-archive-keyring.gpg, or add an image server that has it "+
			"(lite remote add NAME URL --protocol simplestreams; lite launch NAME:ubuntu/%s ...), "+
			"or import an Ubuntu image (lite image import FILE --alias ubuntu/%s): %w",
			r.OS, r.Release, r.Release, r.Release, ErrUnconfigured)
	}
	args := []string{"--variant=minbase", "--arch=" + hostDebianArch()}
	comps := r.Components
	if len(comps) == 0 {
		comps = []string{"main"}
	}
	args = append(args, "--components="+strings.Join(comps, ","))
	if r.Keyring != "" {
		// Always verified: lite never passes --no-check-gpg.
		args = append(args, "--keyring="+r.Keyring)
	}
	if len(r.Packages) > 0 {
		args = append(args, "--include="+strings.Join(r.Packages, ","))
	}
	args = append(args, r.Suite, rootfs, r.Mirror)
	if r.Script != "" {
		args = append(args, filepath.Join(debootstrapScripts, r.Script))
	}
	return DebootstrapPlan{Suite: r.Suite, Mirror: r.Mirror, Keyring: r.Keyring, Packages: r.Packages, Args: args}, nil
}

// ubuntuSources returns deb822 sources for an Ubuntu release from the mirror used, signed by
// the keyring debootstrap installed into the image.
func ubuntuSources(rootfs string, r Recipe) string {
	signed := ""
	keyring := "/usr/share/keyrings/ubuntu-archive-keyring.gpg"
	if fileExists(filepath.Join(rootfs, keyring)) {
		signed = "Signed-By: " + keyring + "\n"
	}
	comps := strings.Join(r.Components, " ")
	if comps == "" {
		comps = "main"
	}
	return fmt.Sprintf("Types: deb\nURIs: %s\nSuites: %s %s-updates %s-security\nComponents: %s\n%s",
		r.Mirror, r.Suite, r.Suite, r.Suite, comps, signed)
}

// fileExists reports whether path exists (without following a final symlink).
func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
