package images

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestUbuntuPlan checks the debootstrap command of each Ubuntu recipe without running it:
// nothing here may contact Ubuntu's archive.
func TestUbuntuPlan(t *testing.T) {
	b := &Builder{CacheDir: t.TempDir(), UbuntuMirror: "http://mirror.example/ubuntu", UbuntuKeyring: "/etc/lite/ubuntu-archive-keyring.gpg"}
	noble, ok := LookupRecipe("ubuntu")
	if !ok || noble.Release != "24.04" || noble.Suite != "noble" {
		t.Fatalf("ubuntu -> %+v %v, want the newest LTS (24.04 noble)", noble, ok)
	}
	for _, alias := range []string{"ubuntu/24.04", "ubuntu/noble", "ubuntu/lts"} {
		if r, ok := LookupRecipe(alias); !ok || r.Suite != "noble" {
			t.Errorf("%s -> %+v", alias, r)
		}
	}
	plan, err := b.Plan(noble, "/work/rootfs")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--variant=minbase", "--arch=" + hostDebianArch(), "--components=main,universe",
		"--keyring=/etc/lite/ubuntu-archive-keyring.gpg",
		"--include=" + strings.Join(noble.Packages, ","),
		"noble", "/work/rootfs", "http://mirror.example/ubuntu", "/usr/share/debootstrap/scripts/gutsy"}
	if !slices.Equal(plan.Args, want) {
		t.Errorf("noble plan:\n%q\nwant\n%q", plan.Args, want)
	}
	if !slices.Contains(plan.Packages, "systemd-resolved") || !slices.Contains(plan.Packages, "openssh-server") {
		t.Errorf("noble packages %v", plan.Packages)
	}
	for _, a := range plan.Args {
		if strings.Contains(a, "no-check-gpg") {
			t.Error("the plan skips signature checks")
		}
	}
	// Debian's debootstrap has a script for the fallback, not for noble itself.
	if _, err := os.Stat("/usr/share/debootstrap/scripts/gutsy"); err != nil {
		t.Errorf("fallback script missing: %v", err)
	}

	jammy, _ := LookupRecipe("ubuntu/22.04")
	plan, err = b.Plan(jammy, "/r")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(plan.Args); plan.Args[n-3] != "jammy" || plan.Args[n-1] != "http://mirror.example/ubuntu" || slices.Contains(jammy.Packages, "systemd-resolved") {
		t.Errorf("jammy plan %q", plan.Args)
	}
	if jammy.Key() == noble.Key() || b.CachePath(jammy) == b.CachePath(noble) {
		t.Error("jammy and noble share a cache key")
	}
}

// TestUbuntuUnconfigured: without a mirror and keyring the build fails before running
// anything, and the error says what to configure.
func TestUbuntuUnconfigured(t *testing.T) {
	for _, b := range []*Builder{
		{CacheDir: t.TempDir()},
		{CacheDir: t.TempDir(), UbuntuMirror: "http://mirror.example/ubuntu"},
		{CacheDir: t.TempDir(), UbuntuKeyring: "/k.gpg"},
	} {
		r, _ := LookupRecipe("ubuntu/24.04")
		_, err := b.Build(t.Context(), r, t.TempDir())
		if !errors.Is(err, ErrUnconfigured) {
			t.Fatalf("Build without Ubuntu settings: %v", err)
		}
		for _, hint := range []string{"--ubuntu-mirror", "--ubuntu-keyring", "lite remote add", "lite image import"} {
			if !strings.Contains(err.Error(), hint) {
				t.Errorf("error %q does not mention %s", err, hint)
			}
		}
		if ents, _ := os.ReadDir(b.CacheDir); len(ents) != 0 {
			t.Errorf("cache touched: %v", ents)
		}
	}
}

// TestDebianPlanUnchanged: the Debian plan keeps debootstrap's own keyring and script.
func TestDebianPlanUnchanged(t *testing.T) {
	b := &Builder{CacheDir: t.TempDir()}
	r, _ := LookupRecipe("debian/12")
	plan, err := b.Plan(r, "/r")
	if err != nil {
		t.Fatal(err)
	}
	n := len(plan.Args)
	if plan.Args[n-3] != "bookworm" || plan.Args[n-1] != DefaultMirror || plan.Args[2] != "--components=main" {
		t.Errorf("debian plan %q", plan.Args)
	}
	for _, a := range plan.Args {
		if strings.HasPrefix(a, "--keyring") {
			t.Errorf("debian plan names a keyring: %q", plan.Args)
		}
	}
}
