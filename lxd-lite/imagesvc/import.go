package imagesvc

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
	"lite/client/api"
	"lite/db"
	"lite/images"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/revert"
	"lite/profiles"
)

// ImportOptions are the record-keeping parts of an import.
type ImportOptions struct {
	Filename   string            // shown as the image's filename
	Public     bool              // LXD's public flag, recorded
	Properties map[string]string // override the metadata's properties per key
	Aliases    []api.ImageAlias  // created with the image, atomically
	// Fingerprint, if set, must equal the computed one (X-LXD-fingerprint).
	Fingerprint string
	// Cached marks an image pulled for an instance rather than asked for by name.
	Cached bool
}

// kinded gives an images error the api kind the server maps to a status.
type kinded struct{ err, kind error }

func (k kinded) Error() string   { return k.err.Error() }
func (k kinded) Unwrap() []error { return []error{k.err, k.kind} }

// apiKind maps the images package's kinds to api kinds.
func apiKind(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, images.ErrInvalid):
		return kinded{err, api.ErrInvalid}
	case errors.Is(err, images.ErrExists):
		return kinded{err, api.ErrAlreadyExists}
	case errors.Is(err, images.ErrNotFound):
		return kinded{err, api.ErrNotFound}
	}
	return err
}

// Import adds the image in files (one unified file, or metadata then rootfs) to the store and
// the database. The image is unpacked once for the default id map before it is recorded, so
// a hostile or broken image is refused here, not at its first launch, and a refused image
// leaves nothing. The row is written last: a crash before it leaves only store files, which
// Sweep removes at the next start.
func (s *Service) Import(ctx context.Context, files []string, o ImportOptions, progress func(string)) (db.Image, error) {
	if progress == nil {
		progress = func(string) {}
	}
	if err := s.CheckAliasesFree(ctx, o.Aliases); err != nil {
		return db.Image{}, err
	}
	var fp string
	var meta images.Metadata
	var err error
	progress("checking the image")
	if len(files) == 1 {
		fp, meta, err = s.Store.Add(ctx, files[0])
	} else {
		fp, meta, err = s.Store.AddSplit(ctx, files[0], files[1])
	}
	if errors.Is(err, images.ErrExists) {
		return db.Image{}, fmt.Errorf("image with same fingerprint already exists (%s): %w", fp, api.ErrAlreadyExists)
	}
	if err != nil {
		return db.Image{}, apiKind(err)
	}
	rev := revert.New()
	defer rev.Fail()
	rev.Add(func() { s.deleteStored(fp) })
	if err := images.CheckHostArchitecture(meta.Architecture); err != nil {
		return db.Image{}, apiKind(err)
	}
	if o.Fingerprint != "" && o.Fingerprint != fp {
		return db.Image{}, fmt.Errorf("fingerprint mismatch: expected %s, got %s: %w", o.Fingerprint, fp, api.ErrInvalid)
	}
	progress("unpacking the image")
	if _, err := s.Store.Layer(ctx, fp, shiftFor(s.IDMap)); err != nil {
		return db.Image{}, apiKind(err)
	}
	var size int64
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return db.Image{}, err
		}
		size += st.Size()
	}
	arch, err := images.NormalizeArchitecture(meta.Architecture)
	if err != nil {
		arch = meta.Architecture
	}
	props := meta.Properties
	for k, v := range o.Properties {
		props[k] = v
	}
	img := db.Image{
		Fingerprint: fp, Filename: o.Filename, Size: size, Architecture: arch, Type: "container",
		Public: o.Public, Cached: o.Cached, Properties: props, CreatedAt: time.Unix(meta.CreationDate, 0), UploadedAt: time.Now(),
	}
	if meta.ExpiryDate > 0 {
		img.ExpiresAt = sql.NullTime{Time: time.Unix(meta.ExpiryDate, 0), Valid: true}
	}
	for _, a := range o.Aliases {
		img.Aliases = append(img.Aliases, db.Alias{Name: a.Name, Description: a.Description})
	}
	if err := s.DB.CreateImage(ctx, img); err != nil {
		return db.Image{}, err
	}
	rev.Success()
	return s.DB.GetImage(ctx, fp)
}

// deleteStored removes an image's store files when its import or build failed; a failure is
// logged, and Sweep retries at the next start.
func (s *Service) deleteStored(fp string) {
	if err := s.Store.Delete(fp); err != nil && s.Log != nil {
		s.Log.Error("revert image import: remove store files", "fingerprint", fp, "err", err)
	}
}

// checkAliasFree fails with ErrAlreadyExists when the alias name is taken.
func checkAliasFree(ctx context.Context, d *db.DB, name string) error {
	if err := ValidateAliasName(name); err != nil {
		return err
	}
	if _, err := d.GetAlias(ctx, name); err == nil {
		return fmt.Errorf("image alias %q already exists: %w", name, api.ErrAlreadyExists)
	} else if !errors.Is(err, api.ErrNotFound) {
		return err
	}
	return nil
}

// CheckAliasesFree fails when one of the aliases a new image is to get has a bad name or is
// taken, so an upload, pull or publish fails before it starts. It is the one alias check of
// import, publish, pull and build, in the service and in the API.
func (s *Service) CheckAliasesFree(ctx context.Context, aliases []api.ImageAlias) error {
	for _, a := range aliases {
		if err := checkAliasFree(ctx, s.DB, a.Name); err != nil {
			return err
		}
	}
	return nil
}

// ValidateAliasName refuses alias names that are empty or too long, hold a control character
// or ":" (which the CLI reads as a remote), or are not a clean relative path ("debian/12" is
// fine; "../x", "/x", "a//b", "a/./b" and "x/" are not), since clients and caches use alias
// names as file names. Alias create, rename, import, publish and build all use it.
func ValidateAliasName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("bad image alias name %q: %s: %w", name, why, api.ErrInvalid)
	}
	switch {
	case name == "":
		return bad("it is empty")
	case len(name) > 255:
		return bad("longer than 255 characters")
	case strings.Contains(name, ":"):
		return bad("\":\" separates a remote from an alias")
	case strings.HasPrefix(name, "/"):
		return bad("it must not start with \"/\"")
	}
	if r, ok := profiles.ControlChar(name, ""); ok {
		return bad(fmt.Sprintf("control character %U", r))
	}
	for _, part := range strings.Split(name, "/") {
		switch part {
		case "":
			return bad("it has an empty part (\"//\" or a trailing \"/\")")
		case ".", "..":
			return bad(fmt.Sprintf("%q is not allowed as a part", part))
		}
	}
	return nil
}

// Delete removes an image from the database and the store. An image whose layer is the
// lower directory of some container's overlay is refused (ErrConflict): deleting it would
// pull the files out from under those containers. Delete them first.
func (s *Service) Delete(ctx context.Context, fp string) error {
	if _, err := s.CheckDeletable(ctx, fp); err != nil {
		return err
	}
	if err := s.DB.DeleteImage(ctx, fp); err != nil {
		return err
	}
	if err := s.Store.Delete(fp); err != nil && !errors.Is(err, images.ErrNotFound) {
		return apiKind(err)
	}
	return nil
}

// Sweep removes store entries without a database row: an import cut short by a crash
// between the store and the database. Call it at start, before serving.
func (s *Service) Sweep(ctx context.Context) error {
	fps, err := s.Store.List()
	if err != nil {
		return err
	}
	for _, fp := range fps {
		if _, err := s.DB.GetImage(ctx, fp); errors.Is(err, api.ErrNotFound) {
			s.Log.Info("removing an image whose import did not finish", "fingerprint", fp)
			if err := s.Store.Delete(fp); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	return nil
}

// PublishOptions describe the image made from an instance.
type PublishOptions struct {
	Properties map[string]string
	Aliases    []api.ImageAlias
	Public     bool
	Filename   string
}

// StoppedRootfs is what publishing needs of the instance side: fn runs with a stopped
// instance's image layer dir, its merged rootfs and the id map its files are shifted by (nil:
// privileged), while the instance cannot start. An interface, so imagesvc and instance do not
// import each other.
type StoppedRootfs interface {
	WithStoppedRootfs(ctx context.Context, name string, fn func(layer, rootfs string, im *idmap.Map) error) error
}

// Publish makes a unified image from a stopped instance: a fresh metadata.yaml (creation date
// now, the base image's properties and templates, overridden by o.Properties), the image's
// templates and the container's merged rootfs, shifted back to container ids.
func (s *Service) Publish(ctx context.Context, mgr StoppedRootfs, name string, o PublishOptions, progress func(string)) (db.Image, error) {
	if err := s.CheckAliasesFree(ctx, o.Aliases); err != nil {
		return db.Image{}, err
	}
	if err := os.MkdirAll(s.TmpDir, 0o700); err != nil {
		return db.Image{}, err
	}
	work, err := os.MkdirTemp(s.TmpDir, "publish-")
	if err != nil {
		return db.Image{}, err
	}
	defer os.RemoveAll(work)
	out := filepath.Join(work, "image.tar.gz")
	err = mgr.WithStoppedRootfs(ctx, name, func(layer, rootfs string, im *idmap.Map) error {
		metaPath, err := publishMetadata(layer, work, o.Properties)
		if err != nil {
			return err
		}
		// Everything packed is unshifted, metadata.yaml too: give it the container root.
		if sh := shiftFor(im); !sh.IsZero() {
			if err := os.Chown(metaPath, int(sh.UID), int(sh.GID)); err != nil {
				return err
			}
		}
		progress("packing the container")
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w := bufio.NewWriterSize(f, 1<<20)
		src := images.PackSources{Metadata: metaPath, Templates: filepath.Join(layer, "templates"), Rootfs: rootfs}
		if err := images.PackParts(ctx, w, src, shiftFor(im)); err != nil {
			return apiKind(err)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return f.Close()
	})
	if err != nil {
		return db.Image{}, err
	}
	return s.Import(ctx, []string{out}, ImportOptions{Filename: o.Filename, Public: o.Public, Aliases: o.Aliases}, progress)
}

// publishMetadata writes the published image's metadata.yaml into dir and returns its path.
func publishMetadata(layer, dir string, props map[string]string) (string, error) {
	data, err := os.ReadFile(filepath.Join(layer, "metadata.yaml"))
	if err != nil {
		return "", fmt.Errorf("base image metadata: %w", err)
	}
	meta, err := images.ParseMetadata(data)
	if err != nil {
		return "", apiKind(err)
	}
	meta.CreationDate = time.Now().Unix()
	meta.ExpiryDate = 0
	for k, v := range props {
		meta.Properties[k] = v
	}
	out, err := yaml.Marshal(meta)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "metadata.yaml")
	return p, os.WriteFile(p, out, 0o644)
}
