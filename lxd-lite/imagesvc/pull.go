package imagesvc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"lite/client/api"
	"lite/client/simplestreams"
	"lite/db"
)

// PullOptions describe a server-side pull from a remote image server.
type PullOptions struct {
	Server   string // base URL
	Protocol string // only "simplestreams"
	Name     string // alias or fingerprint on the server
	Aliases  []api.ImageAlias
	Cached   bool // pulled for an instance rather than asked for by name
}

// Pull resolves an image on a simplestreams server and imports it, unless an image with that
// fingerprint is already local. Every downloaded file is checked against its published sha256
// and the whole against the fingerprint before the usual import checks.
func (s *Service) Pull(ctx context.Context, o PullOptions, progress func(string)) (db.Image, error) {
	if progress == nil {
		progress = func(string) {}
	}
	if o.Protocol != "simplestreams" {
		return db.Image{}, fmt.Errorf("image server protocol %q is not supported (only simplestreams): %w", o.Protocol, api.ErrInvalid)
	}
	if !strings.HasPrefix(o.Server, "http://") && !strings.HasPrefix(o.Server, "https://") {
		return db.Image{}, fmt.Errorf("image server %q: want an http:// or https:// URL: %w", o.Server, api.ErrInvalid)
	}
	c := &simplestreams.Client{URL: o.Server, CacheDir: s.StreamsCache}
	progress("looking up " + o.Name + " on " + o.Server)
	if err := s.CheckAliasesFree(ctx, o.Aliases); err != nil {
		return db.Image{}, err
	}
	remote, err := c.Resolve(ctx, o.Name)
	if err != nil {
		return db.Image{}, streamsKind(err)
	}
	if img, err := s.DB.GetImage(ctx, remote.Fingerprint); err == nil {
		for _, a := range o.Aliases {
			if err := s.DB.CreateAlias(ctx, db.Alias{Name: a.Name, Description: a.Description, Target: img.Fingerprint}); err != nil {
				return db.Image{}, err
			}
		}
		return s.DB.GetImage(ctx, img.Fingerprint)
	}
	if err := os.MkdirAll(s.TmpDir, 0o700); err != nil {
		return db.Image{}, err
	}
	dir, err := os.MkdirTemp(s.TmpDir, "pull-")
	if err != nil {
		return db.Image{}, err
	}
	defer os.RemoveAll(dir)
	files, err := c.Download(ctx, remote, dir, func(msg string) { progress(msg) })
	if err != nil {
		return db.Image{}, streamsKind(err)
	}
	img, err := s.Import(ctx, files, ImportOptions{
		Filename: filepath.Base(remote.Meta.Path), Properties: remote.Properties, Aliases: o.Aliases,
		Fingerprint: remote.Fingerprint, Cached: o.Cached,
	}, progress)
	if errors.Is(err, api.ErrAlreadyExists) {
		// A concurrent pull of the same image won.
		if img, gerr := s.DB.GetImage(ctx, remote.Fingerprint); gerr == nil {
			return img, nil
		}
	}
	return img, err
}

// streamsKind maps simplestreams errors to api kinds; anything else is the server being
// unreachable.
func streamsKind(err error) error {
	switch {
	case errors.Is(err, simplestreams.ErrNotFound):
		return kinded{err, api.ErrNotFound}
	case errors.Is(err, simplestreams.ErrInvalid):
		return kinded{err, api.ErrInvalid}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return kinded{err, api.ErrUnavailable}
}
