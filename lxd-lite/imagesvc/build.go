package imagesvc

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"lite/client/api"
	"lite/db"
	"lite/images"
)

// BuildOptions describe an explicit build (lite image build).
type BuildOptions struct {
	Recipe  string   // debian/13, ubuntu/24.04, ...
	Mirror  string   // archive to build from; "" = the builder's
	Include []string // extra packages
	Aliases []api.ImageAlias
}

var pkgName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// Build builds a recipe (or reuses the cached build of the same recipe, mirror and packages)
// and records it. A plain recipe gets its usual aliases (debian/13, debian/trixie); a build
// with another mirror or extra packages gets only the aliases asked for, so it never takes
// the plain recipe's names.
func (s *Service) Build(ctx context.Context, o BuildOptions, progress func(string)) (db.Image, error) {
	r, ok := images.LookupRecipe(o.Recipe)
	if !ok {
		var known []string
		for _, r := range images.Recipes() {
			known = append(known, r.OS+"/"+r.Release)
		}
		return db.Image{}, fmt.Errorf("no recipe %q (lite can build %s): %w", o.Recipe, strings.Join(known, ", "), api.ErrNotFound)
	}
	if err := s.CheckAliasesFree(ctx, o.Aliases); err != nil {
		return db.Image{}, err
	}
	custom := o.Mirror != "" || len(o.Include) > 0
	if o.Mirror != "" {
		if !strings.HasPrefix(o.Mirror, "http://") && !strings.HasPrefix(o.Mirror, "https://") && !strings.HasPrefix(o.Mirror, "file:/") {
			return db.Image{}, fmt.Errorf("mirror %q: want an http://, https:// or file:/ URL: %w", o.Mirror, api.ErrInvalid)
		}
		r.Mirror = o.Mirror
	}
	for _, p := range o.Include {
		if !pkgName.MatchString(p) {
			return db.Image{}, fmt.Errorf("package name %q: %w", p, api.ErrInvalid)
		}
		r.Packages = append(r.Packages, p)
	}
	if custom {
		r.Aliases = nil
	}
	img, err := s.buildOnce(ctx, r, progress)
	if err != nil {
		return db.Image{}, err
	}
	for _, a := range o.Aliases {
		if err := s.DB.CreateAlias(ctx, db.Alias{Name: a.Name, Description: a.Description, Target: img.Fingerprint}); err != nil {
			return db.Image{}, err
		}
	}
	return s.DB.GetImage(ctx, img.Fingerprint)
}
