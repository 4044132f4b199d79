package images

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestParseMetadata(t *testing.T) {
	m, err := ParseMetadata([]byte(testMetadata + "expiry_date: 1800000000\nunknown_key: ignored\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Architecture != "x86_64" || m.CreationDate != 1700000000 || m.ExpiryDate != 1800000000 {
		t.Errorf("got %+v", m)
	}
	if m.Properties["os"] != "Debian" {
		t.Errorf("properties %v", m.Properties)
	}
	tp := m.Templates["/etc/hostname"]
	if tp.Template != "hostname.tpl" || len(tp.When) != 2 || tp.CreateOnly {
		t.Errorf("template %+v", tp)
	}
	// Maps are never nil, and numbers in properties read as strings.
	m, err = ParseMetadata([]byte("architecture: amd64\ncreation_date: 5\nproperties:\n  version: 12\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Templates == nil || m.Properties["version"] != "12" {
		t.Errorf("got %+v", m)
	}
}

func TestParseMetadataErrors(t *testing.T) {
	cases := map[string]string{
		"not yaml":            "architecture: [x86_64\n",
		"no architecture":     "creation_date: 1\n",
		"unknown arch":        "architecture: pdp11\ncreation_date: 1\n",
		"no creation date":    "architecture: x86_64\n",
		"zero creation date":  "architecture: x86_64\ncreation_date: 0\n",
		"template escape":     "architecture: x86_64\ncreation_date: 1\ntemplates:\n  /etc/x:\n    template: ../../etc/shadow\n",
		"absolute template":   "architecture: x86_64\ncreation_date: 1\ntemplates:\n  /etc/x:\n    template: /etc/shadow\n",
		"empty template name": "architecture: x86_64\ncreation_date: 1\ntemplates:\n  /etc/x:\n    when: [create]\n",
		"bad trigger":         "architecture: x86_64\ncreation_date: 1\ntemplates:\n  /etc/x:\n    when: [boot]\n    template: x.tpl\n",
		"wrong type":          "architecture: x86_64\ncreation_date: yesterday\n",
	}
	for name, in := range cases {
		_, err := ParseMetadata([]byte(in))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		assertKind(t, err, ErrInvalid)
	}
}

func TestReadMetadataAllCompressions(t *testing.T) {
	data := tarBytes(t, append([]ent{{name: "./", typ: tar.TypeDir}}, prefixed("./", baseEntries())...)...)
	for _, c := range []Compression{CompressionNone, CompressionGzip, CompressionXz, CompressionZstd, CompressionBzip2} {
		p := writeFile(t, "img", compress(t, c, data))
		m, err := ReadMetadata(p)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if m.Properties["release"] != "bookworm" {
			t.Errorf("%s: got %+v", c, m)
		}
	}
}

func prefixed(prefix string, es []ent) []ent {
	out := make([]ent, len(es))
	for i, e := range es {
		e.name = prefix + e.name
		out[i] = e
	}
	return out
}

func TestReadMetadataErrors(t *testing.T) {
	cases := map[string][]ent{
		"no metadata":   {{name: "rootfs/", typ: tar.TypeDir}},
		"symlink":       {{name: "metadata.yaml", typ: tar.TypeSymlink, link: "/etc/passwd"}},
		"invalid":       {{name: "metadata.yaml", body: "architecture: x86_64\n"}},
		"nested only":   {{name: "rootfs/metadata.yaml", body: testMetadata}},
		"outside named": {{name: "../metadata.yaml", body: testMetadata}},
	}
	for name, es := range cases {
		_, err := ReadMetadata(writeImage(t, es...))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		assertKind(t, err, ErrInvalid)
	}
	big := strings.Repeat("#", maxMetadataSize+1)
	_, err := ReadMetadata(writeImage(t, ent{name: "metadata.yaml", body: big}))
	assertKind(t, err, ErrInvalid)
	_, err = ReadMetadata(writeFile(t, "junk", []byte("this is not an image at all, not even close")))
	assertKind(t, err, ErrInvalid)
}

func TestDetectCompression(t *testing.T) {
	plain := tarBytes(t, baseEntries()...)
	cases := map[Compression][]byte{
		CompressionNone:     plain,
		CompressionGzip:     compress(t, CompressionGzip, plain),
		CompressionXz:       compress(t, CompressionXz, plain),
		CompressionZstd:     compress(t, CompressionZstd, plain),
		CompressionBzip2:    compress(t, CompressionBzip2, plain),
		CompressionLzma:     {0x5d, 0x00, 0x00, 0x80, 0x00},
		CompressionSquashfs: []byte("hsqs\x00\x00\x00\x00"),
	}
	for want, data := range cases {
		got, err := DetectCompression(data)
		if err != nil || got != want {
			t.Errorf("%s: got %s, %v", want, got, err)
		}
	}
	for _, junk := range [][]byte{nil, []byte("PK\x03\x04zip"), make([]byte, 600)} {
		_, err := DetectCompression(junk)
		assertKind(t, err, ErrInvalid)
	}
	// A squashfs rootfs is recognised but refused with a clear error.
	_, err := ReadMetadata(writeFile(t, "rootfs.squashfs", cases[CompressionSquashfs]))
	assertKind(t, err, ErrInvalid)
	if !strings.Contains(err.Error(), "squashfs") {
		t.Errorf("error %q does not name squashfs", err)
	}
}

func TestCompressionExt(t *testing.T) {
	for c, want := range map[Compression]string{CompressionGzip: ".tar.gz", CompressionXz: ".tar.xz",
		CompressionZstd: ".tar.zst", CompressionBzip2: ".tar.bz2", CompressionNone: ".tar"} {
		if c.Ext() != want {
			t.Errorf("%s: %s", c, c.Ext())
		}
	}
}

func TestFingerprint(t *testing.T) {
	a := writeFile(t, "a", []byte("meta"))
	b := writeFile(t, "b", []byte("rootfs"))
	got, err := Fingerprint(a, b)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("metarootfs"))
	if got != hex.EncodeToString(sum[:]) {
		t.Fatalf("Fingerprint = %s", got)
	}
	if one, _ := Fingerprint(a); one == got {
		t.Fatal("second file ignored")
	}
	if _, err := Fingerprint(a, "/nonexistent"); err == nil {
		t.Fatal("missing file: no error")
	}
	_, err = Fingerprint()
	assertKind(t, err, ErrInvalid)
	if !validFingerprint(got) || validFingerprint(got[:10]) || validFingerprint(strings.ToUpper(got)) {
		t.Fatal("validFingerprint")
	}
}
