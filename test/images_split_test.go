package test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestImagesSplitSquashfs: the debian/12 image re-packed as a split image (metadata tarball +
// squashfs rootfs, as image servers ship them) imports with fingerprint sha256(meta||rootfs),
// boots systemd to running, and exports back as the same two files.
func TestImagesSplitSquashfs(t *testing.T) {
	d := sharedWeb1(t)
	deleteImageOnCleanup(t, d, "img-split")
	deleteOnCleanup(t, d, "imgsplit")
	base := exportBase(t, d)
	work := t.TempDir()
	tree := filepath.Join(work, "tree")
	if err := os.Mkdir(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run("tar", "-xzf", base, "-C", tree, "--numeric-owner", "--xattrs", "--xattrs-include=*")
	meta := filepath.Join(work, "meta.tar.xz")
	rootfs := filepath.Join(work, "rootfs.squashfs")
	run("tar", "-cJf", meta, "-C", tree, "metadata.yaml", "templates")
	run("mksquashfs", filepath.Join(tree, "rootfs"), rootfs, "-noappend", "-quiet", "-comp", "gzip")

	h := sha256.New()
	for _, f := range []string{meta, rootfs} {
		in, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(h, in)
		in.Close()
	}
	want := hex.EncodeToString(h.Sum(nil))
	fp := mustFingerprint(t, mustLite(t, d, "image", "import", meta, rootfs, "--alias", "img-split"))
	if fp != want {
		t.Fatalf("split import fingerprint %s, want sha256(meta||rootfs) %s", fp, want)
	}
	mustLite(t, d, "launch", "img-split", "imgsplit")
	waitRunning(t, d, "imgsplit")
	if out := mustLite(t, d, "exec", "imgsplit", "--", "sh", "-c", "hostname; stat -c %u /etc/shadow"); out != "imgsplit\n0\n" {
		t.Errorf("container from the split image: %q", out)
	}
	out := t.TempDir()
	files := strings.Fields(mustLite(t, d, "image", "export", "img-split", out))
	if len(files) != 2 || filepath.Base(files[0]) != "meta-"+fp+".tar.xz" || filepath.Base(files[1]) != fp+".squashfs" {
		t.Fatalf("split export: %v", files)
	}
	if fileSHA(t, files[0]) != fileSHA(t, meta) || fileSHA(t, files[1]) != fileSHA(t, rootfs) {
		t.Error("split export differs from the imported files")
	}
}
