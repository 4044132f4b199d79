// Package imagesvc is the daemon's image service: it resolves what a create request names to
// an image in the store (alias, fingerprint, or a builder recipe built once), and hands out
// image layers shifted for an id map.
package imagesvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"lite/client/api"
	"lite/db"
	"lite/images"
	"lite/lxd-lite/idmap"
)

// Service resolves and serves images.
type Service struct {
	DB      *db.DB
	Store   *images.Store
	Builder *images.Builder
	TmpDir  string // scratch space for builds, on the same filesystem as the store
	// IDMap is the default map of unprivileged containers: imports are unpacked for it once
	// to check them.
	IDMap *idmap.Map
	// StreamsCache keeps simplestreams index files (an hour); "" disables the cache.
	StreamsCache string
	Log          *slog.Logger
	// Peers fetches image files from other cluster members (nil: a single host).
	Peers Peers

	mu     sync.Mutex
	builds map[string]*build // by recipe key: one build at a time per recipe
}

type build struct {
	done chan struct{}
	img  db.Image
	err  error
	subs []func(string)
	mu   sync.Mutex
}

// Resolve finds the image a source names: a fingerprint (or unique prefix), a local alias,
// else a builder recipe (debian/12, ...), built once and stored with its aliases.
func (s *Service) Resolve(ctx context.Context, src api.InstanceSource, progress func(string)) (db.Image, error) {
	if src.Server != "" {
		name := src.Alias
		if name == "" {
			name = src.Fingerprint
		}
		return s.Pull(ctx, PullOptions{Server: src.Server, Protocol: src.Protocol, Name: name, Cached: true}, progress)
	}
	if src.Fingerprint != "" {
		return s.DB.GetImage(ctx, src.Fingerprint)
	}
	name := src.Alias
	if a, err := s.DB.GetAlias(ctx, name); err == nil {
		return s.DB.GetImage(ctx, a.Target)
	} else if !errors.Is(err, api.ErrNotFound) {
		return db.Image{}, err
	}
	if len(name) >= 4 {
		if img, err := s.DB.GetImage(ctx, name); err == nil {
			return img, nil
		}
	}
	r, ok := images.LookupRecipe(name)
	if !ok {
		var known []string
		for _, r := range images.Recipes() {
			known = append(known, r.OS+"/"+r.Release)
		}
		return db.Image{}, fmt.Errorf("image %q not found: no local alias or fingerprint matches, and lite has no recipe to build it (it can build %s): %w",
			name, strings.Join(known, ", "), api.ErrNotFound)
	}
	return s.buildOnce(ctx, r, progress)
}

// buildOnce builds a recipe, sharing one build between concurrent requests for it.
func (s *Service) buildOnce(ctx context.Context, r images.Recipe, progress func(string)) (db.Image, error) {
	key := r.Key()
	s.mu.Lock()
	if s.builds == nil {
		s.builds = map[string]*build{}
	}
	b, running := s.builds[key]
	if !running {
		b = &build{done: make(chan struct{})}
		s.builds[key] = b
	}
	b.mu.Lock()
	if progress != nil {
		b.subs = append(b.subs, progress)
	}
	b.mu.Unlock()
	s.mu.Unlock()
	if !running {
		go func() {
			// The build outlives any one request: others may be waiting on it.
			b.img, b.err = s.build(context.Background(), r, func(msg string) {
				b.mu.Lock()
				subs := append([]func(string){}, b.subs...)
				b.mu.Unlock()
				for _, f := range subs {
					f(msg)
				}
			})
			s.mu.Lock()
			delete(s.builds, key)
			s.mu.Unlock()
			close(b.done)
		}()
	}
	select {
	case <-b.done:
		return b.img, b.err
	case <-ctx.Done():
		return db.Image{}, ctx.Err()
	}
}

func (s *Service) build(ctx context.Context, r images.Recipe, progress func(string)) (db.Image, error) {
	// Another request may have finished the same build just before this one started.
	for _, alias := range r.Aliases {
		if a, err := s.DB.GetAlias(ctx, alias); err == nil {
			return s.DB.GetImage(ctx, a.Target)
		}
	}
	if err := os.MkdirAll(s.TmpDir, 0o700); err != nil {
		return db.Image{}, fmt.Errorf("create build dir: %w", err)
	}
	work, err := os.MkdirTemp(s.TmpDir, "build-")
	if err != nil {
		return db.Image{}, fmt.Errorf("create build dir: %w", err)
	}
	defer os.RemoveAll(work)
	b := *s.Builder
	b.Progress = progress
	progress(fmt.Sprintf("building %s/%s with debootstrap (once; later launches reuse it)", r.OS, r.Release))
	tarball, err := b.Build(ctx, r, work)
	if err != nil {
		return db.Image{}, apiKind(fmt.Errorf("build image %s/%s: %w", r.OS, r.Release, err))
	}
	progress("adding image to the store")
	fp, meta, err := s.Store.Add(ctx, tarball)
	if err != nil && !errors.Is(err, images.ErrExists) {
		return db.Image{}, err
	}
	st, err := os.Stat(tarball)
	if err != nil {
		return db.Image{}, err
	}
	now := time.Now()
	img := db.Image{
		Fingerprint: fp, Filename: filepath.Base(tarball), Size: st.Size(), Architecture: meta.Architecture,
		Type: "container", Properties: meta.Properties, CreatedAt: time.Unix(meta.CreationDate, 0), UploadedAt: now,
	}
	for _, a := range r.Aliases {
		img.Aliases = append(img.Aliases, db.Alias{Name: a})
	}
	if err := s.DB.CreateImage(ctx, img); err != nil {
		if errors.Is(err, api.ErrAlreadyExists) {
			return s.DB.GetImage(ctx, fp)
		}
		s.deleteStored(fp)
		return db.Image{}, err
	}
	return s.DB.GetImage(ctx, fp)
}

func shiftFor(m *idmap.Map) idmap.Map {
	if m == nil {
		return idmap.Map{}
	}
	return idmap.Map{UID: m.UID, GID: m.GID, Size: m.Size}
}

// Layer returns the image's layer shifted for the map, unpacking it on first use.
func (s *Service) Layer(ctx context.Context, fp string, m *idmap.Map, progress func(string)) (string, error) {
	if err := s.ensureLocal(ctx, fp, progress); err != nil {
		return "", err
	}
	if progress != nil {
		progress("preparing image layer")
	}
	return s.Store.Layer(ctx, fp, shiftFor(m))
}

// Render runs the layer's templates for trigger into rootfs.
func (s *Service) Render(layerDir, rootfs, trigger string, inst db.Instance, m *idmap.Map) error {
	tc := images.TemplateContext{
		Name: inst.Name, Architecture: inst.Architecture, Privileged: m == nil,
		Config: inst.Config, Devices: inst.Devices,
	}
	return images.RenderTemplates(layerDir, rootfs, trigger, tc, shiftFor(m))
}
