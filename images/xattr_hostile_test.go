package images

import (
	"archive/tar"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lite/lxd-lite/idmap"

	"golang.org/x/sys/unix"
)

// A hostile image must not plant xattrs that steer the overlay lited mounts on the host
// (trusted.overlay.redirect could point a directory elsewhere in the layer, metacopy could
// take a file's data from another), nor any other trusted.* or security.* attribute but
// file capabilities, whatever the spelling in the tarball.
func TestUnpackDropsPrivilegedXattrs(t *testing.T) {
	requireRoot(t)
	hostile := map[string]string{
		"trusted.overlay.redirect": "/etc",
		"trusted.overlay.metacopy": "",
		"trusted.overlay.opaque":   "y",
		"trusted.overlay.origin":   "\x00\xfb",
		"trusted.lite.overlay":     "1",
		"trusted.other":            "x",
		"security.selinux":         "system_u:object_r:shadow_t:s0",
		"security.ima":             "\x03\x02",
		"user.overlay.redirect":    "/etc",
		"user.overlay.opaque":      "y",
	}
	kept := map[string]string{"user.comment": "kept", xattrCapability: capNetRaw()}
	all := map[string]string{}
	for k, v := range hostile {
		all[k] = v
	}
	for k, v := range kept {
		all[k] = v
	}
	entries := append(prefixed("./", baseEntries()),
		ent{name: "./rootfs/srv/", typ: tar.TypeDir, mode: 0o755, xattrs: all},
		ent{name: "./rootfs/srv/file", body: "x", mode: 0o755, xattrs: all},
	)
	dest := filepath.Join(t.TempDir(), "layer")
	if err := Unpack(context.Background(), writeImage(t, entries...), dest, idmap.Map{}); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"rootfs/srv", "rootfs/srv/file"} {
		p := filepath.Join(dest, rel)
		for name := range hostile {
			if _, err := unix.Lgetxattr(p, name, make([]byte, 64)); !errors.Is(err, unix.ENODATA) {
				t.Errorf("%s: xattr %s restored (or unreadable: %v)", rel, name, err)
			}
		}
		if v := getxattr(t, p, "user.comment"); string(v) != "kept" {
			t.Errorf("%s: user.comment %q", rel, v)
		}
	}
	if v := getxattr(t, filepath.Join(dest, "rootfs/srv/file"), xattrCapability); len(v) == 0 {
		t.Error("file capability dropped")
	}
}

func TestSkipXattr(t *testing.T) {
	for name, skip := range map[string]bool{
		"trusted.overlay.redirect": true, "trusted.overlay.upper": true, "trusted.x": true,
		"security.selinux": true, "security.evm": true, "security.capability": false,
		"user.overlay.opaque": true, "user.mime_type": false, "system.posix_acl_access": false,
	} {
		if got := skipXattr(name); got != skip {
			t.Errorf("skipXattr(%q) = %v, want %v", name, got, skip)
		}
	}
}

// Zeros in an image's file become holes: a sparse file published or exported from a container
// does not grow to its full size when unpacked.
func TestUnpackSparse(t *testing.T) {
	requireRoot(t)
	body := strings.Repeat("\x00", 4<<20) + "end" + strings.Repeat("\x00", 1<<20)
	entries := append(prefixed("./", baseEntries()), ent{name: "./rootfs/sparse", body: body, mode: 0o644})
	dest := filepath.Join(t.TempDir(), "layer")
	if err := Unpack(context.Background(), writeImage(t, entries...), dest, idmap.Map{}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dest, "rootfs/sparse")
	got, err := os.ReadFile(p)
	if err != nil || string(got) != body {
		t.Fatalf("content differs (%d bytes, %v)", len(got), err)
	}
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	if st.Blocks*512 > 256<<10 {
		t.Errorf("%d bytes allocated for a file of 5 MiB of zeros and 3 bytes", st.Blocks*512)
	}
}
