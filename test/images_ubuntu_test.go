package test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"lite/images"
)

// networkDefault is the network-config the seed gets when no key sets one.
func networkDefault(t *testing.T) string {
	t.Helper()
	entries, _ := images.CloudInitTemplates()
	def, ok := entries["/var/lib/cloud/seed/nocloud-net/network-config"].Properties["default"]
	if !ok {
		t.Fatal("no network-config template")
	}
	return def
}

// ubuntuShaped turns lite's unified debian/12 export into the split shape Ubuntu's image
// server serves: a metadata tarball (lxd.tar.xz: metadata.yaml with the cloud-init seed
// templates added, templates/) and the root filesystem as a squashfs. It returns both paths.
func ubuntuShaped(t *testing.T, unified string) (meta, squash string) {
	t.Helper()
	work, out := t.TempDir(), t.TempDir()
	run := func(name string, args ...string) {
		t.Helper()
		if b, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
		}
	}
	run("tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpzf", unified, "-C", work)
	raw, err := os.ReadFile(filepath.Join(work, "metadata.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	if err := yaml.Unmarshal(raw, &md); err != nil {
		t.Fatal(err)
	}
	tpls, _ := md["templates"].(map[string]any)
	if tpls == nil {
		tpls = map[string]any{}
	}
	entries, files := images.CloudInitTemplates()
	for p, e := range entries {
		tpls[p] = e
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(work, "templates", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	md["templates"] = tpls
	if raw, err = yaml.Marshal(md); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "metadata.yaml"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	meta, squash = filepath.Join(out, "lxd.tar.xz"), filepath.Join(out, "root.squashfs")
	run("tar", "--numeric-owner", "-cJf", meta, "-C", work, "metadata.yaml", "templates")
	run("mksquashfs", filepath.Join(work, "rootfs"), squash, "-noappend", "-no-progress", "-quiet", "-xattrs")
	return meta, squash
}

// serveUbuntuStream lays meta and squash out as cloud-images.ubuntu.com/releases does
// (index com.ubuntu.cloud:released:download, product com.ubuntu.cloud:server:24.04:ARCH,
// items lxd.tar.xz with combined_squashfs_sha256 and squashfs) and serves it on 127.0.0.1.
// It returns the base URL and the image's fingerprint.
func serveUbuntuStream(t *testing.T, meta, squash string) (string, string) {
	t.Helper()
	tree := t.TempDir()
	arch := runtime.GOARCH // Go's names are Debian's for amd64 and arm64
	dir := "server/releases/noble/release-20240423"
	if err := os.MkdirAll(filepath.Join(tree, dir), 0o755); err != nil {
		t.Fatal(err)
	}
	item := func(src, name, ftype string) map[string]any {
		dst := filepath.Join(tree, dir, name)
		if err := os.Link(src, dst); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(dst)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"ftype": ftype, "path": dir + "/" + name, "size": st.Size(), "sha256": fileSHA(t, dst)}
	}
	prefix := "ubuntu-24.04-server-cloudimg-" + arch
	metaItem := item(meta, prefix+"-lxd.tar.xz", "lxd.tar.xz")
	fp := combinedSHA(t, meta, squash)
	metaItem["combined_squashfs_sha256"] = fp
	product := "com.ubuntu.cloud:server:24.04:" + arch
	products := map[string]any{
		"content_id": "com.ubuntu.cloud:released:download", "datatype": "image-downloads", "format": "products:1.0",
		"products": map[string]any{product: map[string]any{
			"aliases": "24.04,noble,lts", "arch": arch, "os": "ubuntu", "release": "noble",
			"release_codename": "Noble Numbat", "release_title": "24.04 LTS", "version": "24.04",
			"versions": map[string]any{"20240423": map[string]any{"label": "release", "items": map[string]any{
				"lxd.tar.xz": metaItem, "squashfs": item(squash, prefix+".squashfs", "squashfs"),
			}}},
		}},
	}
	index := map[string]any{"format": "index:1.0", "index": map[string]any{"com.ubuntu.cloud:released:download": map[string]any{
		"datatype": "image-downloads", "path": "streams/v1/com.ubuntu.cloud:released:download.json",
		"format": "products:1.0", "products": []string{product},
	}}}
	for name, v := range map[string]any{"index.json": index, "com.ubuntu.cloud:released:download.json": products} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(tree, "streams", "v1"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tree, "streams", "v1", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return serveDir(t, tree), fp
}

// combinedSHA is the split image fingerprint: sha256 of the metadata then the rootfs bytes.
func combinedSHA(t *testing.T, files ...string) string {
	t.Helper()
	h := sha256.New()
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestImagesUbuntuRemote: with the built-in ubuntu: remote re-pointed (lite remote set-url)
// at a local server laid out as Ubuntu's, `lite launch ubuntu NAME` resolves the remote's
// "lts" alias, pulls the split lxd.tar.xz + squashfs image (fingerprint verified against
// combined_squashfs_sha256) and boots it to systemd running with sshd and cron; the
// cloud-init keys (new and old names) are rendered into the NoCloud seed by the image's
// templates. Once ubuntu: has no image, the refusal names every way to get one.
func TestImagesUbuntuRemote(t *testing.T) {
	shared := sharedWeb1(t)
	start := time.Now()
	base := exportBase(t, shared)
	meta, squash := ubuntuShaped(t, base)
	t.Logf("export and conversion to lxd.tar.xz + squashfs: %s", time.Since(start).Round(time.Millisecond))
	url, fp := serveUbuntuStream(t, meta, squash)
	d := startDaemon(t) // no image yet, so the launch really downloads
	isolatedRemotes(t)
	deleteOnCleanup(t, d, "noble1", "noble2")
	deleteImageOnCleanup(t, d, fp)

	_, stderr, code := d.Lite("remote", "remove", "ubuntu")
	oneLineError(t, "lite remote remove ubuntu", stderr, code, `built in.*lite remote set-url ubuntu URL`)
	mustLite(t, d, "remote", "set-url", "ubuntu", url)
	if out := mustLite(t, d, "remote", "list", "--format", "csv"); !strings.Contains(out, "ubuntu,"+url+",simplestreams,YES") {
		t.Errorf("lite remote list after set-url:\n%s", out)
	}

	_, stderr, code = d.Lite("launch", "ubuntu", "noble2", "-c", "cloud-init.user-data=#cloud-config\npackages: [x")
	oneLineError(t, "lite launch with bad cloud-init.user-data", stderr, code, `cloud-init.user-data.*YAML`)
	if st := status(t, d, "noble2"); st != "" {
		t.Errorf("the refused launch left noble2 (%s)", st)
	}

	userData := "#cloud-config\nruncmd:\n  - [touch, /run/from-cloud-init]\n"
	vendorData := "#cloud-config\npackages: [htop]\n"
	start = time.Now()
	mustLite(t, d, "launch", "ubuntu", "noble1", "-c", "cloud-init.user-data="+userData, "-c", "user.vendor-data="+vendorData,
		"-c", "user.meta-data=cloud-name: lite")
	waitRunning(t, d, "noble1")
	t.Logf("lite launch ubuntu (download, unsquashfs, boot) to systemd running: %s", time.Since(start).Round(time.Millisecond))
	if out := mustLite(t, d, "exec", "noble1", "--", "systemctl", "is-active", "ssh", "cron"); out != "active\nactive\n" {
		t.Errorf("sshd and cron in the container from ubuntu:lts: %q", out)
	}
	if out := mustLite(t, d, "image", "list", "--format", "csv"); !strings.Contains(out, fp[:12]) {
		t.Errorf("the pulled image %s is not in the store:\n%s", fp[:12], out)
	}
	seed := "/var/lib/cloud/seed/nocloud-net/"
	want := map[string]string{
		"meta-data":      "instance-id: noble1\nlocal-hostname: noble1\ncloud-name: lite\n",
		"user-data":      strings.TrimRight(userData, "\n") + "\n",
		"vendor-data":    strings.TrimRight(vendorData, "\n") + "\n",
		"network-config": networkDefault(t) + "\n",
	}
	for name, body := range want {
		if got := mustLite(t, d, "exec", "noble1", "--", "cat", seed+name); got != body {
			t.Errorf("%s%s = %q, want %q", seed, name, got, body)
		}
	}

	// Export to a file name, as LXD's client: split -> TARGET and TARGET.root, unified ->
	// TARGET plus the server's extension.
	out := t.TempDir()
	if got := mustLite(t, d, "image", "export", fp, filepath.Join(out, "noble")); got != filepath.Join(out, "noble")+"\n"+filepath.Join(out, "noble.root")+"\n" {
		t.Errorf("lite image export FP DIR/noble printed %q", got)
	} else if sum := combinedSHA(t, filepath.Join(out, "noble"), filepath.Join(out, "noble.root")); sum != fp {
		t.Errorf("exported split image has fingerprint %s, want %s", sum, fp)
	}
	got := strings.TrimSpace(mustLite(t, shared, "image", "export", "debian/12", filepath.Join(out, "d12")))
	if got != filepath.Join(out, "d12.tar.gz") || fileSHA(t, got) != strings.TrimSuffix(filepath.Base(base), ".tar.gz") {
		t.Errorf("lite image export debian/12 DIR/d12 wrote %q", got)
	}
	_, stderr, code = d.Lite("image", "export", fp, filepath.Join(out, "nosuchdir", "x"))
	oneLineError(t, "lite image export to a missing directory", stderr, code, `nosuchdir is not a directory`)

	// Take the image away from ubuntu: and from the store: the launch must now say each way.
	mustLite(t, d, "delete", "noble1", "--force")
	mustLite(t, d, "image", "delete", fp)
	mustLite(t, d, "remote", "set-url", "ubuntu", url+"/nosuch")
	_, stderr, code = d.Lite("launch", "ubuntu", "noble2")
	oneLineError(t, "lite launch ubuntu (no image anywhere)", stderr, code,
		`ubuntu: remote .*lite remote set-url ubuntu URL.*--ubuntu-mirror URL --ubuntu-keyring .*lite remote add.*lite image import`)
	if st := status(t, d, "noble2"); st != "" {
		t.Errorf("the refused launch left noble2 (%s)", st)
	}
}
