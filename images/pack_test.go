package images

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"lite/lxd-lite/idmap"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sys/unix"
)

func TestShiftCapability(t *testing.T) {
	v2 := []byte(capNetRaw())
	v3, err := shiftCapability(v2, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if len(v3) != vfsCapV3Size || binary.LittleEndian.Uint32(v3) != vfsCapRevision3|vfsCapFlagsEffective ||
		binary.LittleEndian.Uint32(v3[4:]) != 1<<unix.CAP_NET_RAW || binary.LittleEndian.Uint32(v3[20:]) != 100000 {
		t.Fatalf("v3 = %x", v3)
	}
	// Back to 0 gives the revision 2 value again, and a v3 is re-rooted.
	if back, err := shiftCapability(v3, 0); err != nil || !bytes.Equal(back, v2) {
		t.Fatalf("unshift = %x, %v", back, err)
	}
	if again, _ := shiftCapability(v3, 200000); binary.LittleEndian.Uint32(again[20:]) != 200000 {
		t.Fatalf("re-rooted = %x", again)
	}
	v1 := make([]byte, vfsCapV1Size)
	binary.LittleEndian.PutUint32(v1, vfsCapRevision1)
	binary.LittleEndian.PutUint32(v1[4:], 1<<unix.CAP_NET_BIND_SERVICE)
	if up, err := shiftCapability(v1, 0); err != nil || len(up) != vfsCapV2Size || binary.LittleEndian.Uint32(up[4:]) != 1<<unix.CAP_NET_BIND_SERVICE {
		t.Fatalf("v1 = %x, %v", up, err)
	}
	for _, bad := range [][]byte{nil, {1, 2}, v2[:10], append(append([]byte{}, v2...), 0), {0, 0, 0, 9, 0, 0, 0, 0}} {
		_, err := shiftCapability(bad, 1)
		assertKind(t, err, ErrInvalid)
	}
}

func TestShiftACL(t *testing.T) {
	in := []byte(testACL(1000, 2000))
	out, err := shiftACL(in, idmap.Map{UID: 100000, GID: 300000, Size: idmap.Size})
	if err != nil || string(out) != testACL(101000, 302000) {
		t.Fatalf("shift = %x, %v", out, err)
	}
	if string(in) != testACL(1000, 2000) {
		t.Fatal("input modified")
	}
	back, err := unshiftACL(out, idmap.Map{UID: 100000, GID: 300000, Size: idmap.Size})
	if err != nil || !bytes.Equal(back, in) {
		t.Fatalf("unshift = %x, %v", back, err)
	}
	for _, bad := range [][]byte{nil, in[:7], append([]byte{3, 0, 0, 0}, in[4:]...)} {
		_, err := shiftACL(bad, idmap.Map{UID: 1, GID: 1, Size: idmap.Size})
		assertKind(t, err, ErrInvalid)
	}
	_, err = shiftACL([]byte(testACL(70000, 1)), idmap.Map{UID: 1, GID: 1, Size: idmap.Size})
	assertKind(t, err, ErrInvalid)
}

func TestShiftID(t *testing.T) {
	m := idmap.Map{UID: 100000, GID: 200000, Size: idmap.Size}
	if id, err := shiftID(m, idmap.User, 65534); err != nil || id != 165534 {
		t.Fatalf("got %d, %v", id, err)
	}
	if id, err := shiftID(m, idmap.Group, 1); err != nil || id != 200001 {
		t.Fatalf("group: got %d, %v", id, err)
	}
	if id, err := shiftID(idmap.Map{}, idmap.User, 70000); err != nil || id != 70000 {
		t.Fatalf("no shift: got %d, %v", id, err)
	}
	for _, bad := range []int{-1, 65536} {
		_, err := shiftID(m, idmap.User, bad)
		assertKind(t, err, ErrInvalid)
	}
	_, err := unshiftID(m, idmap.User, 99999)
	assertKind(t, err, ErrInvalid)
}

// TestPackRoundTrip packs a shifted tree back to container ids and checks
// the tarball, then unpacks it again.
func TestPackRoundTrip(t *testing.T) {
	requireRoot(t)
	shift := idmap.Map{UID: 100000, GID: 100000, Size: idmap.Size}
	src := filepath.Join(t.TempDir(), "layer")
	if err := Unpack(context.Background(), writeImage(t, richEntries()...), src, shift); err != nil {
		t.Fatal(err)
	}
	// Things Unpack never makes but a container's tree may hold.
	if err := unix.Mknod(filepath.Join(src, "rootfs/dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(filepath.Join(src, "rootfs/dev/null"), 100000, 100000); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "rootfs/dev/null"), 0o666); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Pack(context.Background(), &buf, src, shift); err != nil {
		t.Fatal(err)
	}
	hdrs := readHeaders(t, buf.Bytes())
	check := func(name string, typ byte, uid, gid int, mode int64) *tar.Header {
		t.Helper()
		h, ok := hdrs[name]
		if !ok {
			t.Fatalf("%s missing from the tarball", name)
		}
		if h.Typeflag != typ || h.Uid != uid || h.Gid != gid || (mode != 0 && h.Mode != mode) || h.Uname != "" {
			t.Errorf("%s: type %c owner %d:%d mode %o uname %q", name, h.Typeflag, h.Uid, h.Gid, h.Mode, h.Uname)
		}
		return h
	}
	check("metadata.yaml", tar.TypeReg, 0, 0, 0o644)
	check("templates/", tar.TypeDir, 0, 0, 0o755)
	check("rootfs/usr/bin/passwd", tar.TypeReg, 0, 42, 0o4755)
	check("rootfs/home/user/notes", tar.TypeReg, 1000, 1000, 0o600)
	check("rootfs/bin", tar.TypeSymlink, 0, 0, 0)
	check("rootfs/run/initctl", tar.TypeFifo, 0, 0, 0o600)
	if h := check("rootfs/dev/null", tar.TypeChar, 0, 0, 0o666); h.Devmajor != 1 || h.Devminor != 3 {
		t.Errorf("dev/null %d:%d", h.Devmajor, h.Devminor)
	}
	ping, ping4 := hdrs["rootfs/usr/bin/ping"], hdrs["rootfs/usr/bin/ping4"]
	if ping == nil || ping4 == nil || (ping.Typeflag == tar.TypeLink) == (ping4.Typeflag == tar.TypeLink) {
		t.Fatal("hard link pair not packed as one file and one link")
	}
	if ping.PAXRecords[paxSchilyXattr+xattrCapability] != capNetRaw() {
		t.Errorf("capability not unshifted: %x", ping.PAXRecords[paxSchilyXattr+xattrCapability])
	}
	if hdrs["rootfs/home/user/"].PAXRecords[paxSchilyXattr+xattrACLAccess] != testACL(1000, 2000) {
		t.Error("ACL not unshifted")
	}
	if hdrs["rootfs/etc/hostname"].ModTime.Unix() != testTime.Unix() {
		t.Error("mtime not kept")
	}

	dest := filepath.Join(t.TempDir(), "again")
	img := writeFile(t, "img.tar.gz", buf.Bytes())
	if err := Unpack(context.Background(), img, dest, idmap.Map{UID: 300000, GID: 300000, Size: idmap.Size}); err != nil {
		t.Fatal(err)
	}
	st := lstat(t, filepath.Join(dest, "rootfs/usr/bin/passwd"))
	if s := st.Sys().(*syscall.Stat_t); s.Uid != 300000 || s.Gid != 300042 || st.Mode()&os.ModeSetuid == 0 {
		t.Errorf("passwd after round trip: %d:%d %v", s.Uid, s.Gid, st.Mode())
	}
	if m, err := ReadMetadata(img); err != nil || m.Properties["os"] != "Debian" {
		t.Errorf("metadata after round trip: %+v %v", m, err)
	}
}

func TestPackRefusesForeignOwner(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "rootfs"), 0o755)
	os.WriteFile(filepath.Join(dir, "metadata.yaml"), []byte(testMetadata), 0o644)
	// Owned by host root, which is not in the container's range.
	err := Pack(context.Background(), io.Discard, dir, idmap.Map{UID: 100000, GID: 100000, Size: idmap.Size})
	assertKind(t, err, ErrInvalid)
}

func readHeaders(t *testing.T, gz []byte) map[string]*tar.Header {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h
	}
}
