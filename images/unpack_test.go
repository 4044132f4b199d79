package images

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"lite/lxd-lite/idmap"

	"golang.org/x/sys/unix"
)

// capNetRaw is a revision 2 security.capability value: cap_net_raw=ep.
func capNetRaw() string {
	v := make([]byte, vfsCapV2Size)
	binary.LittleEndian.PutUint32(v, vfsCapRevision2|vfsCapFlagsEffective)
	binary.LittleEndian.PutUint32(v[4:], 1<<unix.CAP_NET_RAW)
	return string(v)
}

// testACL is a POSIX ACL value granting user 1000 and group 2000 read.
func testACL(user, group uint32) string {
	type e struct {
		tag, perm uint16
		id        uint32
	}
	// Consistent with mode 0750, as a real tarball's would be: the ACL
	// sets the mode bits too.
	entries := []e{{1, 7, 0xffffffff}, {aclTagUser, 4, user}, {4, 5, 0xffffffff}, {aclTagGroup, 4, group},
		{0x10, 5, 0xffffffff}, {0x20, 0, 0xffffffff}}
	v := make([]byte, aclHeaderLen+aclEntryLen*len(entries))
	binary.LittleEndian.PutUint32(v, aclVersion)
	for i, x := range entries {
		off := aclHeaderLen + aclEntryLen*i
		binary.LittleEndian.PutUint16(v[off:], x.tag)
		binary.LittleEndian.PutUint16(v[off+2:], x.perm)
		binary.LittleEndian.PutUint32(v[off+4:], x.id)
	}
	return string(v)
}

// richEntries exercise every kind of entry Unpack handles.
func richEntries() []ent {
	return append(prefixed("./", baseEntries()),
		ent{name: "./rootfs/usr/bin/", typ: tar.TypeDir, mode: 0o755},
		ent{name: "./rootfs/usr/bin/passwd", body: "suid", mode: 0o4755, gid: 42},
		ent{name: "./rootfs/usr/bin/wall", body: "sgid", mode: 0o2755, gid: 5},
		ent{name: "./rootfs/usr/bin/ping", body: "ping", mode: 0o755, xattrs: map[string]string{xattrCapability: capNetRaw()}},
		ent{name: "./rootfs/usr/bin/ping4", typ: tar.TypeLink, link: "./rootfs/usr/bin/ping"},
		ent{name: "./rootfs/bin", typ: tar.TypeSymlink, link: "usr/bin"},
		ent{name: "./rootfs/etc/resolv.conf", typ: tar.TypeSymlink, link: "/run/systemd/resolve/stub-resolv.conf"},
		ent{name: "./rootfs/home/", typ: tar.TypeDir},
		ent{name: "./rootfs/home/user/", typ: tar.TypeDir, mode: 0o750, uid: 1000, gid: 1000,
			xattrs: map[string]string{xattrACLAccess: testACL(1000, 2000), xattrACLDefault: testACL(1001, 2001)}},
		ent{name: "./rootfs/home/user/notes", body: "hi", mode: 0o600, uid: 1000, gid: 1000,
			xattrs: map[string]string{"user.comment": "kept", "trusted.overlay.opaque": "y"}},
		ent{name: "./rootfs/run/initctl", typ: tar.TypeFifo, mode: 0o600},
		ent{name: "./rootfs/dev/", typ: tar.TypeDir},
		ent{name: "./rootfs/dev/null", typ: tar.TypeChar, mode: 0o666, major: 1, minor: 3},
		ent{name: "./rootfs/dev/sda", typ: tar.TypeBlock, mode: 0o660, major: 8},
		ent{name: "./other-top-level", body: "ignored"},
		ent{name: "./rootfs.img", body: "ignored"},
	)
}

func TestUnpackShifted(t *testing.T) {
	requireRoot(t)
	img := writeImage(t, richEntries()...)
	dest := filepath.Join(t.TempDir(), "layer")
	shift := idmap.Map{UID: 100000, GID: 200000, Size: idmap.Size}
	if err := Unpack(context.Background(), img, dest, shift); err != nil {
		t.Fatal(err)
	}
	owner := func(rel string, uid, gid uint32, mode os.FileMode) {
		t.Helper()
		fi := lstat(t, filepath.Join(dest, rel))
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid {
			t.Errorf("%s: owner %d:%d, want %d:%d", rel, st.Uid, st.Gid, uid, gid)
		}
		if mode != 0 && fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", rel, fi.Mode(), mode)
		}
		if fi.Mode()&os.ModeSymlink == 0 && rel != "rootfs/run" && !fi.ModTime().Equal(testTime) {
			t.Errorf("%s: mtime %v", rel, fi.ModTime())
		}
	}
	owner("metadata.yaml", 100000, 200000, 0o644)
	owner("templates/hostname.tpl", 100000, 200000, 0o644)
	owner("rootfs", 100000, 200000, os.ModeDir|0o755)
	owner("rootfs/usr/bin/passwd", 100000, 200042, os.ModeSetuid|0o755)
	owner("rootfs/usr/bin/wall", 100000, 200005, os.ModeSetgid|0o755)
	owner("rootfs/home/user", 101000, 201000, os.ModeDir|0o750)
	owner("rootfs/home/user/notes", 101000, 201000, 0o600)
	owner("rootfs/bin", 100000, 200000, os.ModeSymlink|0o777)
	owner("rootfs/run/initctl", 100000, 200000, os.ModeNamedPipe|0o600)
	// A directory the tarball never listed is made, owned by the shifted root.
	owner("rootfs/run", 100000, 200000, os.ModeDir|0o755)

	if target, _ := os.Readlink(filepath.Join(dest, "rootfs/etc/resolv.conf")); target != "/run/systemd/resolve/stub-resolv.conf" {
		t.Errorf("symlink target %q", target)
	}
	a, b := lstat(t, filepath.Join(dest, "rootfs/usr/bin/ping")), lstat(t, filepath.Join(dest, "rootfs/usr/bin/ping4"))
	if !os.SameFile(a, b) {
		t.Error("hard link not preserved")
	}
	for _, gone := range []string{"rootfs/dev/null", "rootfs/dev/sda", "other-top-level", "rootfs.img"} {
		if _, err := os.Lstat(filepath.Join(dest, gone)); err == nil {
			t.Errorf("%s extracted", gone)
		}
	}
	// The capability is now a revision 3 value rooted at the shifted root.
	capv := getxattr(t, filepath.Join(dest, "rootfs/usr/bin/ping"), xattrCapability)
	want, _ := shiftCapability([]byte(capNetRaw()), 100000)
	if !bytes.Equal(capv, want) || binary.LittleEndian.Uint32(capv[20:]) != 100000 {
		t.Errorf("capability %x, want %x", capv, want)
	}
	if acl := getxattr(t, filepath.Join(dest, "rootfs/home/user"), xattrACLAccess); string(acl) != testACL(101000, 202000) {
		t.Errorf("access ACL %x", acl)
	}
	if acl := getxattr(t, filepath.Join(dest, "rootfs/home/user"), xattrACLDefault); string(acl) != testACL(101001, 202001) {
		t.Errorf("default ACL %x", acl)
	}
	if v := getxattr(t, filepath.Join(dest, "rootfs/home/user/notes"), "user.comment"); string(v) != "kept" {
		t.Errorf("user xattr %q", v)
	}
	if _, err := unix.Lgetxattr(filepath.Join(dest, "rootfs/home/user/notes"), "trusted.overlay.opaque", make([]byte, 8)); err == nil {
		t.Error("overlay xattr restored")
	}
}

func TestUnpackUnshifted(t *testing.T) {
	requireRoot(t)
	dest := filepath.Join(t.TempDir(), "layer")
	if err := Unpack(context.Background(), writeImage(t, richEntries()...), dest, idmap.Map{}); err != nil {
		t.Fatal(err)
	}
	st := lstat(t, filepath.Join(dest, "rootfs/home/user/notes")).Sys().(*syscall.Stat_t)
	if st.Uid != 1000 || st.Gid != 1000 {
		t.Errorf("owner %d:%d", st.Uid, st.Gid)
	}
	if capv := getxattr(t, filepath.Join(dest, "rootfs/usr/bin/ping"), xattrCapability); string(capv) != capNetRaw() {
		t.Errorf("capability %x, want the revision 2 value", capv)
	}
	if _, err := os.Lstat(filepath.Join(dest, "rootfs/dev/null")); err == nil {
		t.Error("device node extracted")
	}
}

func getxattr(t *testing.T, path, name string) []byte {
	t.Helper()
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(path, name, buf)
	if err != nil {
		t.Fatalf("getxattr %s %s: %v", path, name, err)
	}
	return buf[:n]
}

func TestUnpackAllCompressions(t *testing.T) {
	requireRoot(t)
	data := tarBytes(t, baseEntries()...)
	for _, c := range []Compression{CompressionNone, CompressionGzip, CompressionXz, CompressionZstd, CompressionBzip2} {
		dest := filepath.Join(t.TempDir(), "d")
		if err := Unpack(context.Background(), writeFile(t, "img", compress(t, c, data)), dest, idmap.Map{}); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dest, "rootfs/etc/hostname")); string(b) != "placeholder\n" {
			t.Errorf("%s: content %q", c, b)
		}
	}
}

// TestUnpackHostile feeds tarballs that try to write outside dest: every
// one must fail with ErrInvalid, leave the outside untouched and remove
// dest.
func TestUnpackHostile(t *testing.T) {
	requireRoot(t)
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	cases := map[string][]ent{
		"dotdot":             {{name: "rootfs/../../victim", body: "pwned"}},
		"dotdot at start":    {{name: "../victim", body: "pwned"}},
		"absolute":           {{name: victim, body: "pwned"}},
		"absolute dir":       {{name: "/rootfs/x", body: "pwned"}},
		"symlink then write": {{name: "rootfs/evil", typ: tar.TypeSymlink, link: outside}, {name: "rootfs/evil/victim", body: "pwned"}},
		"relative symlink then write": {{name: "rootfs/a/", typ: tar.TypeDir},
			{name: "rootfs/a/evil", typ: tar.TypeSymlink, link: "../../../../../../../../" + outside}, {name: "rootfs/a/evil/victim", body: "pwned"}},
		"symlinked top":  {{name: "rootfs", typ: tar.TypeSymlink, link: outside}, {name: "rootfs/victim", body: "pwned"}},
		"hardlink out":   {{name: "rootfs/x", typ: tar.TypeLink, link: "../../../../../../" + victim}},
		"hardlink abs":   {{name: "rootfs/x", typ: tar.TypeLink, link: victim}},
		"hardlink other": {{name: "rootfs/x", typ: tar.TypeLink, link: "etc/passwd"}},
		"hardlink via symlink": {{name: "rootfs/evil", typ: tar.TypeSymlink, link: outside},
			{name: "rootfs/x", typ: tar.TypeLink, link: "rootfs/evil/victim"}},
		"hardlink missing":    {{name: "rootfs/x", typ: tar.TypeLink, link: "rootfs/nothing"}},
		"dotdot symlink name": {{name: "rootfs/../victim", typ: tar.TypeSymlink, link: "/"}},
		"replace full dir": {{name: "rootfs/a/x", body: "x"}, {name: "rootfs/a", typ: tar.TypeSymlink, link: outside},
			{name: "rootfs/a/victim", body: "pwned"}},
		"huge uid": {{name: "rootfs/x", body: "x", uid: 70000}},
	}
	for name, es := range cases {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(victim, []byte("safe"), 0o644); err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(t.TempDir(), "layer")
			img := writeImage(t, append(es, baseEntries()...)...)
			err := Unpack(context.Background(), img, dest, idmap.Map{UID: 100000, GID: 100000, Size: idmap.Size})
			assertKind(t, err, ErrInvalid)
			if _, serr := os.Lstat(dest); serr == nil {
				t.Error("dest left behind after a failed unpack")
			}
			if b, _ := os.ReadFile(victim); string(b) != "safe" {
				t.Errorf("victim changed: %q", b)
			}
			st := lstat(t, victim).Sys().(*syscall.Stat_t)
			if st.Nlink != 1 || st.Uid != 0 {
				t.Errorf("victim linked or chowned: nlink %d uid %d", st.Nlink, st.Uid)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 1 {
				t.Errorf("outside now has %d entries", len(entries))
			}
		})
	}
}

// TestUnpackReplacesSymlink checks that a file entry replaces a symlink of
// the same name instead of writing through it (tar's own behaviour).
func TestUnpackReplacesSymlink(t *testing.T) {
	requireRoot(t)
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	os.WriteFile(victim, []byte("safe"), 0o644)
	dest := filepath.Join(t.TempDir(), "layer")
	img := writeImage(t, append(baseEntries(),
		ent{name: "rootfs/link", typ: tar.TypeSymlink, link: victim},
		ent{name: "rootfs/link", body: "content"},
		ent{name: "rootfs/etc", typ: tar.TypeDir}, // again: kept, not replaced
	)...)
	if err := Unpack(context.Background(), img, dest, idmap.Map{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "safe" {
		t.Fatalf("wrote through the symlink: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "rootfs/link")); string(b) != "content" {
		t.Fatalf("rootfs/link = %q", b)
	}
	if _, err := os.Stat(filepath.Join(dest, "rootfs/etc/hostname")); err != nil {
		t.Fatal("re-listed directory lost its content")
	}
}

func TestUnpackLimits(t *testing.T) {
	requireRoot(t)
	img := writeImage(t, baseEntries()...)
	dest := filepath.Join(t.TempDir(), "d")
	err := unpack(context.Background(), img, dest, idmap.Map{}, limits{entries: 3, bytes: 1 << 20, pathLen: 4096})
	assertKind(t, err, ErrInvalid)
	err = unpack(context.Background(), img, dest, idmap.Map{}, limits{entries: 100, bytes: 10, pathLen: 4096})
	assertKind(t, err, ErrInvalid)
	long := ent{name: "rootfs/" + strings.Repeat("a", 200), body: "x"}
	err = unpack(context.Background(), writeImage(t, long), dest, idmap.Map{}, limits{entries: 100, bytes: 1 << 20, pathLen: 100})
	assertKind(t, err, ErrInvalid)
	if _, err := os.Lstat(dest); err == nil {
		t.Fatal("dest left behind")
	}
	// A truncated tarball fails too.
	data := compress(t, CompressionNone, tarBytes(t, baseEntries()...))
	err = Unpack(context.Background(), writeFile(t, "cut.tar", data[:len(data)/2+100]), dest, idmap.Map{})
	assertKind(t, err, ErrInvalid)
}

func TestUnpackCancelled(t *testing.T) {
	requireRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dest := filepath.Join(t.TempDir(), "d")
	if err := Unpack(ctx, writeImage(t, baseEntries()...), dest, idmap.Map{}); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Lstat(dest); err == nil {
		t.Fatal("dest left behind")
	}
}

func TestCleanEntryName(t *testing.T) {
	ok := map[string]string{
		"metadata.yaml": "metadata.yaml", "./metadata.yaml": "metadata.yaml", "./rootfs/": "rootfs",
		"rootfs//etc/./x": "rootfs/etc/x", "././templates/a.tpl": "templates/a.tpl",
	}
	for in, want := range ok {
		got, keep, err := cleanEntryName(in, 4096)
		if err != nil || !keep || got != want {
			t.Errorf("%q: %q %v %v", in, got, keep, err)
		}
	}
	for _, skip := range []string{"./", "rootfs.img", "other/x", "metadata.yaml/x"} {
		if _, keep, err := cleanEntryName(skip, 4096); keep || err != nil {
			t.Errorf("%q: kept=%v err=%v", skip, keep, err)
		}
	}
	for _, bad := range []string{"/rootfs/x", "rootfs/../x", "..", "rootfs/a\x00b"} {
		_, _, err := cleanEntryName(bad, 4096)
		assertKind(t, err, ErrInvalid)
	}
}
