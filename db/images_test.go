package db

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"lite/client/api"
)

const (
	fpA = "aaaa1111" + "0000000000000000000000000000000000000000000000000000000a"
	fpB = "aaaa2222" + "0000000000000000000000000000000000000000000000000000000b"
	fpC = "cccc3333" + "0000000000000000000000000000000000000000000000000000000c"
)

func testImage(fp string, aliases ...string) Image {
	img := Image{
		Fingerprint: fp, Filename: "debian-12.tar.xz", Size: 12345, Architecture: "x86_64", Type: "container",
		Public: true, Cached: true,
		Properties: map[string]string{"os": "debian", "release": "12"},
		CreatedAt:  time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		UploadedAt: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
	}
	for _, a := range aliases {
		img.Aliases = append(img.Aliases, Alias{Name: a, Description: "about " + a})
	}
	return img
}

func TestCreateImageWithAliases(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	if err := d.CreateImage(ctx, testImage(fpA, "debian/12", "deb")); err != nil {
		t.Fatal(err)
	}
	img, err := d.GetImage(ctx, fpA)
	if err != nil {
		t.Fatal(err)
	}
	want := testImage(fpA)
	if img.Fingerprint != fpA || img.Filename != want.Filename || img.Size != want.Size || img.Architecture != want.Architecture ||
		img.Type != want.Type || !img.Public || !img.Cached || img.AutoUpdate {
		t.Errorf("got %+v", img)
	}
	if !reflect.DeepEqual(img.Properties, want.Properties) {
		t.Errorf("properties = %v", img.Properties)
	}
	if !img.CreatedAt.Equal(want.CreatedAt) || !img.UploadedAt.Equal(want.UploadedAt) {
		t.Errorf("times %v %v", img.CreatedAt, img.UploadedAt)
	}
	if img.LastUsedAt.Valid || img.ExpiresAt.Valid {
		t.Errorf("unset times read back as set: %v %v", img.LastUsedAt, img.ExpiresAt)
	}
	var names []string
	for _, a := range img.Aliases {
		names = append(names, a.Name)
		if a.Target != fpA {
			t.Errorf("alias %s target %q", a.Name, a.Target)
		}
	}
	if strings.Join(names, ",") != "deb,debian/12" {
		t.Errorf("aliases = %v", names)
	}

	a, err := d.GetAlias(ctx, "debian/12")
	if err != nil {
		t.Fatal(err)
	}
	if a != (Alias{Name: "debian/12", Description: "about debian/12", Target: fpA}) {
		t.Errorf("alias = %+v", a)
	}
	if _, err := d.GetAlias(ctx, "debian/11"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("missing alias: err = %v, want ErrNotFound", err)
	}
}

func TestImageWithoutAliasesHasEmptyList(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	img := testImage(fpA)
	img.Properties = nil
	if err := d.CreateImage(ctx, img); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetImage(ctx, fpA)
	if err != nil {
		t.Fatal(err)
	}
	if got.Aliases == nil || got.Properties == nil {
		t.Errorf("aliases %#v properties %#v: want empty, not nil (the API renders [] and {})", got.Aliases, got.Properties)
	}
}

func TestCreateImageDuplicates(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	if err := d.CreateImage(ctx, testImage(fpA, "debian/12")); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateImage(ctx, testImage(fpA)); !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("duplicate fingerprint: err = %v, want ErrAlreadyExists", err)
	}
	// An alias clash fails the whole image: no row without its aliases.
	err := d.CreateImage(ctx, testImage(fpB, "new", "debian/12"))
	if !errors.Is(err, api.ErrAlreadyExists) {
		t.Fatalf("duplicate alias: err = %v, want ErrAlreadyExists", err)
	}
	if !strings.Contains(err.Error(), `"debian/12"`) {
		t.Errorf("error %q does not name the alias", err)
	}
	if _, err := d.GetImage(ctx, fpB); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("image of a failed create exists (err %v): not rolled back", err)
	}
	if _, err := d.GetAlias(ctx, "new"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("alias of a failed create exists (err %v)", err)
	}
	if a, err := d.GetAlias(ctx, "debian/12"); err != nil || a.Target != fpA {
		t.Errorf("existing alias changed: %+v %v", a, err)
	}
}

func TestGetImageByPrefix(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	for _, fp := range []string{fpA, fpB, fpC} {
		if err := d.CreateImage(ctx, testImage(fp)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		prefix string
		want   string // fingerprint, or "" for an error
		kind   error
	}{
		{fpA, fpA, nil},
		{"aaaa1", fpA, nil},
		{"AAAA2", fpB, nil}, // case-insensitive, as fingerprints are hex
		{"c", fpC, nil},
		{"aaaa", "", api.ErrInvalid}, // ambiguous
		{"a", "", api.ErrInvalid},
		{"b", "", api.ErrNotFound},
		{"", "", api.ErrNotFound},
		{"debian/12", "", api.ErrNotFound}, // not hex
		{"aaaa%", "", api.ErrNotFound},     // LIKE wildcards are not hex either
		{"aaa_", "", api.ErrNotFound},
		{fpA + "0", "", api.ErrNotFound}, // longer than any fingerprint
	}
	for _, tt := range tests {
		img, err := d.GetImage(ctx, tt.prefix)
		if tt.want != "" {
			if err != nil || img.Fingerprint != tt.want {
				t.Errorf("GetImage(%q) = %s, %v; want %s", tt.prefix, img.Fingerprint, err, tt.want)
			}
			continue
		}
		if !errors.Is(err, tt.kind) {
			t.Errorf("GetImage(%q) err = %v, want %v", tt.prefix, err, tt.kind)
		}
	}
	_, err := d.GetImage(ctx, "aaaa")
	if err == nil || !strings.Contains(err.Error(), "more than one") {
		t.Errorf("ambiguous prefix error %v does not say so", err)
	}
}

func TestListImagesAndAliases(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	list, err := d.ListImages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Fatalf("empty db lists %v", list)
	}
	aliases, err := d.ListAliases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if aliases == nil || len(aliases) != 0 {
		t.Errorf("no aliases = %#v, want empty non-nil", aliases)
	}
	a, b := testImage(fpA, "z"), testImage(fpB, "y", "x")
	b.UploadedAt = a.UploadedAt.Add(-time.Hour) // listed first
	if err := d.CreateImage(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateImage(ctx, b); err != nil {
		t.Fatal(err)
	}
	list, err = d.ListImages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Fingerprint != fpB || list[1].Fingerprint != fpA {
		t.Fatalf("list = %+v", list)
	}
	if len(list[0].Aliases) != 2 || len(list[1].Aliases) != 1 || list[1].Aliases[0].Name != "z" {
		t.Errorf("aliases per image: %+v / %+v", list[0].Aliases, list[1].Aliases)
	}
	aliases, err = d.ListAliases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range aliases {
		got = append(got, a.Name+"="+a.Target[:8])
	}
	if strings.Join(got, ",") != "x=aaaa2222,y=aaaa2222,z=aaaa1111" {
		t.Errorf("aliases = %v", got)
	}
}

func TestTouchImage(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	if err := d.CreateImage(ctx, testImage(fpA)); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := d.TouchImage(ctx, fpA, at); err != nil {
		t.Fatal(err)
	}
	img, err := d.GetImage(ctx, fpA)
	if err != nil {
		t.Fatal(err)
	}
	if !img.LastUsedAt.Valid || !img.LastUsedAt.Time.Equal(at) {
		t.Errorf("last_used_at = %v, want %v", img.LastUsedAt, at)
	}
}

func TestDeleteImageCascadesAliases(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	if err := d.CreateImage(ctx, testImage(fpA, "debian/12", "deb")); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateImage(ctx, testImage(fpB, "other")); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteImage(ctx, fpA); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetImage(ctx, fpA); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("deleted image: err = %v", err)
	}
	for _, a := range []string{"debian/12", "deb"} {
		if _, err := d.GetAlias(ctx, a); !errors.Is(err, api.ErrNotFound) {
			t.Errorf("alias %s of a deleted image: err = %v", a, err)
		}
	}
	if n := countRows(t, d, "images_aliases"); n != 1 {
		t.Errorf("%d alias rows left, want 1 (other)", n)
	}
	if _, err := d.GetAlias(ctx, "other"); err != nil {
		t.Errorf("alias of another image: %v", err)
	}
	if err := d.DeleteImage(ctx, fpA); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("second delete: err = %v, want ErrNotFound", err)
	}
}
