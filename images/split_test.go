package images

import (
	"archive/tar"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"lite/lxd-lite/idmap"
)

// splitMeta is the metadata part of a split image.
func splitMeta(t *testing.T) string {
	return writeFile(t, "meta.tar.xz", compress(t, CompressionXz, tarBytes(t,
		ent{name: "metadata.yaml", body: testMetadata},
		ent{name: "templates/hostname.tpl", body: "{{ instance.name }}\n"},
		// A metadata tarball may not smuggle a rootfs in.
		ent{name: "rootfs/etc/smuggled", body: "x"},
	)))
}

func TestStoreSplitTarball(t *testing.T) {
	requireRoot(t)
	s := &Store{Dir: filepath.Join(t.TempDir(), "images")}
	meta := splitMeta(t)
	root := writeFile(t, "root.tar.gz", compress(t, CompressionGzip, tarBytes(t,
		ent{name: "./", typ: tar.TypeDir},
		ent{name: "./etc/", typ: tar.TypeDir},
		ent{name: "./etc/hostname", body: "x\n", uid: 0},
		ent{name: "./etc/hosts", link: "./etc/hostname", typ: tar.TypeLink},
	)))
	fp, _, err := s.AddSplit(context.Background(), meta, root)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := Fingerprint(meta, root); fp != want {
		t.Fatalf("fingerprint %s, want sha256(meta||rootfs) %s", fp, want)
	}
	files, err := s.Files(fp)
	if err != nil || len(files) != 2 || !strings.HasSuffix(files[0], "meta.tar.xz") || !strings.HasSuffix(files[1], "rootfs.tar.gz") {
		t.Fatalf("Files = %v %v", files, err)
	}
	layer, err := s.Layer(context.Background(), fp, idmap.Map{UID: 100000, GID: 100000, Size: idmap.Size})
	if err != nil {
		t.Fatal(err)
	}
	var st os.FileInfo
	if st, err = os.Stat(filepath.Join(layer, "rootfs/etc/hosts")); err != nil {
		t.Fatal(err)
	}
	if uid := st.Sys().(*syscall.Stat_t).Uid; uid != 100000 {
		t.Errorf("rootfs file owner %d, want shifted 100000", uid)
	}
	if _, err := os.Lstat(filepath.Join(layer, "rootfs/etc/smuggled")); err == nil {
		t.Error("the metadata tarball's rootfs/ entry was extracted")
	}
}

func TestStoreSplitHostileRootfs(t *testing.T) {
	requireRoot(t)
	cases := map[string][]ent{
		"absolute":     {{name: "/etc/passwd", body: "x"}},
		"dotdot":       {{name: "../escape", body: "x"}},
		"hardlink out": {{name: "h", link: "/etc/passwd", typ: tar.TypeLink}},
		"hardlink up":  {{name: "h", link: "../metadata.yaml", typ: tar.TypeLink}},
		"write through symlink": {
			{name: "l", link: "/tmp", typ: tar.TypeSymlink},
			{name: "l/split-evil", body: "x"},
		},
	}
	for name, ents := range cases {
		t.Run(name, func(t *testing.T) {
			s := &Store{Dir: filepath.Join(t.TempDir(), "images")}
			root := writeFile(t, "root.tar", tarBytes(t, ents...))
			fp, _, err := s.AddSplit(context.Background(), splitMeta(t), root)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Layer(context.Background(), fp, idmap.Map{})
			assertKind(t, err, ErrInvalid)
			if m, _ := filepath.Glob(filepath.Join(s.Dir, fp, "layers", "*")); len(m) != 0 {
				t.Errorf("layer left: %v", m)
			}
		})
	}
	if _, err := os.Lstat("/tmp/split-evil"); err == nil {
		t.Error("wrote through a symlink to the host")
	}
}

func TestStoreSquashfsRootfs(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("mksquashfs"); err != nil {
		t.Fatal("mksquashfs is needed (squashfs-tools, installed by scripts/install-deps.sh)")
	}
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "etc/hostname"), []byte("sq\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("hostname", filepath.Join(src, "etc/link")); err != nil {
		t.Fatal(err)
	}
	sq := filepath.Join(t.TempDir(), "rootfs.squashfs")
	if out, err := exec.Command("mksquashfs", src, sq, "-noappend", "-quiet").CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs: %v %s", err, out)
	}
	s := &Store{Dir: filepath.Join(t.TempDir(), "images")}
	fp, _, err := s.AddSplit(context.Background(), splitMeta(t), sq)
	if err != nil {
		t.Fatal(err)
	}
	layer, err := s.Layer(context.Background(), fp, idmap.Map{UID: 100000, GID: 100000, Size: idmap.Size})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(layer, "rootfs/etc/link")); err != nil || string(b) != "sq\n" {
		t.Errorf("squashfs content: %q %v", b, err)
	}
	if m, _ := filepath.Glob(filepath.Join(s.Dir, fp, "layers", "*squashfs*")); len(m) != 0 {
		t.Errorf("scratch left: %v", m)
	}
	// A squashfs is only ever the rootfs of a split image.
	_, _, err = s.Add(context.Background(), sq)
	assertKind(t, err, ErrInvalid)
}

func TestStoreSizeLimit(t *testing.T) {
	requireRoot(t)
	s := &Store{Dir: filepath.Join(t.TempDir(), "images"), MaxBytes: 1000}
	img := writeImage(t, ent{name: "metadata.yaml", body: "architecture: x86_64\ncreation_date: 1\n"},
		ent{name: "rootfs/big", body: strings.Repeat("x", 2000)})
	fp, _, err := s.Add(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Layer(context.Background(), fp, idmap.Map{})
	assertKind(t, err, ErrInvalid)
	if err == nil || !strings.Contains(err.Error(), "over 1000 bytes") {
		t.Errorf("error %v does not name the limit", err)
	}
}

func TestValidateTemplateTarget(t *testing.T) {
	for _, target := range []string{"/../etc/shadow", "/etc/../../x", ""} {
		m := Metadata{Architecture: "x86_64", CreationDate: 1, Templates: map[string]Template{target: {Template: "a.tpl", When: []string{"create"}}}}
		assertKind(t, m.Validate(), ErrInvalid)
	}
}
