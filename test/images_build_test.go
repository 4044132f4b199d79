package test

import (
	"strings"
	"testing"
)

// TestImagesBuild: `lite image build debian/12 --alias A` reuses the cached build and adds
// the alias; an Ubuntu launch on this offline machine fails at once, saying what to
// configure: the ubuntu: remote (the run's local stand-in, which has no image) and the
// builder (no mirror is configured, so debootstrap never runs) are named.
func TestImagesBuild(t *testing.T) {
	d := sharedWeb1(t)
	deleteOnCleanup(t, d, "imgubuntu")
	t.Cleanup(func() { d.Lite("image", "alias", "delete", "img-built") })
	out := mustLite(t, d, "image", "build", "debian/12", "--alias", "img-built")
	fp := mustFingerprint(t, out)
	if info := mustLite(t, d, "image", "info", "debian/12"); !strings.Contains(info, fp) {
		t.Errorf("lite image build debian/12 gave %s, not the debian/12 image:\n%s", fp, info)
	}
	if info := mustLite(t, d, "image", "info", "img-built"); !strings.Contains(info, fp) {
		t.Errorf("alias img-built does not point at %s", fp)
	}
	_, stderr, code := d.Lite("launch", "ubuntu", "imgubuntu")
	oneLineError(t, "lite launch ubuntu (offline)", stderr, code, `ubuntu: remote .*lite remote set-url ubuntu URL.*--ubuntu-mirror URL --ubuntu-keyring .*lite remote add.*lite image import`)
	if st := status(t, d, "imgubuntu"); st != "" {
		t.Errorf("the refused launch left imgubuntu (%s)", st)
	}
	_, stderr, code = d.Lite("image", "build", "debian/12", "--include", "bad_name!")
	oneLineError(t, "lite image build --include bad", stderr, code, `package name`)
	_, stderr, code = d.Lite("image", "build", "plan9/4")
	oneLineError(t, "lite image build plan9/4", stderr, code, `no recipe`)
}
