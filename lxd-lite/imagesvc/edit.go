package imagesvc

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"lite/client/api"
	"lite/db"
)

// Get returns the image a fingerprint (or a unique prefix of one) names.
func (s *Service) Get(ctx context.Context, fp string) (db.Image, error) {
	return s.DB.GetImage(ctx, fp)
}

// List returns every image.
func (s *Service) List(ctx context.Context) ([]db.Image, error) {
	return s.DB.ListImages(ctx)
}

// Update replaces an image's writable fields: properties, public, auto-update and expiry
// (zero or before 1970: none).
func (s *Service) Update(ctx context.Context, fp string, put api.ImagePut) error {
	props := put.Properties
	if props == nil {
		props = map[string]string{}
	}
	exp := sql.NullTime{}
	if !put.ExpiresAt.IsZero() && put.ExpiresAt.Unix() > 0 {
		exp = sql.NullTime{Time: put.ExpiresAt, Valid: true}
	}
	return s.DB.UpdateImage(ctx, fp, props, put.Public, put.AutoUpdate, exp)
}

// CheckDeletable returns the image fp names, or ErrConflict while some container's overlay
// uses its layer (see Delete).
func (s *Service) CheckDeletable(ctx context.Context, fp string) (db.Image, error) {
	img, err := s.DB.GetImage(ctx, fp)
	if err != nil {
		return db.Image{}, err
	}
	users, err := s.DB.ImageUsers(ctx, img.Fingerprint)
	if err != nil {
		return db.Image{}, err
	}
	if len(users) > 0 {
		return db.Image{}, fmt.Errorf("image %s is used by instance(s) %s: delete them first: %w", img.Fingerprint[:12], strings.Join(users, ", "), api.ErrConflict)
	}
	return img, nil
}

// Aliases returns every image alias.
func (s *Service) Aliases(ctx context.Context) ([]db.Alias, error) {
	return s.DB.ListAliases(ctx)
}

// Alias returns one image alias.
func (s *Service) Alias(ctx context.Context, name string) (db.Alias, error) {
	return s.DB.GetAlias(ctx, name)
}

// CreateAlias makes alias name point at the image target names (a unique fingerprint prefix
// will do).
func (s *Service) CreateAlias(ctx context.Context, name, description, target string) error {
	if err := ValidateAliasName(name); err != nil {
		return err
	}
	img, err := s.DB.GetImage(ctx, target)
	if err != nil {
		return err
	}
	return s.DB.CreateAlias(ctx, db.Alias{Name: name, Description: description, Target: img.Fingerprint})
}

// UpdateAlias replaces an existing alias's description and target.
func (s *Service) UpdateAlias(ctx context.Context, name, description, target string) error {
	if target == "" {
		return fmt.Errorf("alias %q: no target given: %w", name, api.ErrInvalid)
	}
	img, err := s.DB.GetImage(ctx, target)
	if err != nil {
		return err
	}
	return s.DB.UpdateAlias(ctx, db.Alias{Name: name, Description: description, Target: img.Fingerprint})
}

// RenameAlias renames an alias; the new name must be valid and free.
func (s *Service) RenameAlias(ctx context.Context, name, newName string) error {
	if err := ValidateAliasName(newName); err != nil {
		return err
	}
	return s.DB.RenameAlias(ctx, name, newName)
}

// DeleteAlias removes an alias (the image stays).
func (s *Service) DeleteAlias(ctx context.Context, name string) error {
	return s.DB.DeleteAlias(ctx, name)
}
