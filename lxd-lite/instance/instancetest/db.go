package instancetest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"lite/db"
)

// ImageFP is the fingerprint of the image row NewDB records, aliased debian/12; it has no
// files (Images hands out empty layers for it).
const ImageFP = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// NewDB opens a database in a temp dir of t, closed when t ends, holding the row of ImageFP.
func NewDB(t testing.TB) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(t.TempDir(), "lite.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("close db: %v", err)
		}
	})
	err = d.CreateImage(ctx, db.Image{
		Fingerprint: ImageFP, Filename: "debian-12.tar.xz", Size: 1000, Architecture: "x86_64", Type: "container",
		Properties: map[string]string{"os": "debian", "release": "12"},
		CreatedAt:  time.Now(), UploadedAt: time.Now(),
		Aliases: []db.Alias{{Name: "debian/12", Description: "Debian 12"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
