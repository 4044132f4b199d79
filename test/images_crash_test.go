package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImagesImportCrash: lited is SIGKILLed in the middle of an import; after a restart no
// half image is listed and nothing of it is left in the store or the tmp dir.
func TestImagesImportCrash(t *testing.T) {
	base := exportBase(t, sharedWeb1(t))
	d := startDaemon(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Lite("image", "import", base, "--alias", "img-crash")
	}()
	// Wait until the import is past the upload and busy unpacking or storing, then kill.
	caught := false
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && !caught {
		for _, pat := range []string{"images/.tmp-*", "images/*/layers/.tmp-*"} {
			if m, _ := filepath.Glob(filepath.Join(d.Dir, pat)); len(m) > 0 {
				caught = true
			}
		}
		if !caught {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if !caught {
		t.Fatal("never saw the import at work in the store (did it fail or finish too fast?)")
	}
	d.Kill(t)
	<-done
	d.Restart(t)
	if out := mustLite(t, d, "image", "list", "--format", "csv"); strings.TrimSpace(out) != "" {
		t.Errorf("after the crash, lite image list shows:\n%s", out)
	}
	if left := storeEntries(t, d); len(left) != 0 {
		t.Errorf("left in the store after the crash and restart: %v", left)
	}
	// And the same import works afterwards.
	mustLite(t, d, "image", "import", base, "--alias", "img-crash")
	if _, err := os.Stat(filepath.Join(d.Dir, "images")); err != nil {
		t.Fatal(err)
	}
	mustLite(t, d, "image", "delete", "img-crash")
}
