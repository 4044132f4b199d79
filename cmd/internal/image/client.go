package image

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
)

// Client is the part of the API the image commands use; *client.Client (behind cli.Remote)
// satisfies it.
type Client interface {
	GetImages(ctx context.Context) ([]api.Image, error)
	GetImage(ctx context.Context, fp string) (*api.Image, error)
	GetImageAlias(ctx context.Context, name string) (*api.ImageAliasesEntry, error)
	GetImageAliases(ctx context.Context) ([]api.ImageAliasesEntry, error)
	CreateImage(ctx context.Context, up client.ImageUpload) (*client.Operation, error)
	CreateImageFromSource(ctx context.Context, req api.ImagesPost) (*client.Operation, error)
	DeleteImage(ctx context.Context, fp string) (*client.Operation, error)
	ExportImage(ctx context.Context, fp, target string) ([]string, error)
	CreateImageAlias(ctx context.Context, a api.ImageAliasesPost) error
	RenameImageAlias(ctx context.Context, name, to string) error
	DeleteImageAlias(ctx context.Context, name string) error
}

var _ Client = (*client.Client)(nil)

// imageClient returns the API client get makes as a Client.
func imageClient(get func() (*client.Client, error)) (Client, error) { return get() }

// imageOn returns the client of the server ref names ("host2:debian/12" goes to host2, a
// bare name to the default) and ref without its remote.
func imageOn(f *cli.Factory, ref string) (Client, string, error) {
	get, rest := f.APIFor(ref)
	c, err := imageClient(get)
	return c, rest, err
}

// resolve turns an alias, fingerprint or unique fingerprint prefix into the image.
func resolve(ctx context.Context, c Client, name string) (*api.Image, error) {
	if a, err := c.GetImageAlias(ctx, name); err == nil {
		return c.GetImage(ctx, a.Target)
	} else if !errors.Is(err, api.ErrNotFound) {
		return nil, err
	}
	img, err := c.GetImage(ctx, strings.ToLower(name))
	if errors.Is(err, api.ErrNotFound) {
		return nil, fmt.Errorf("image %q not found: no alias or fingerprint matches: %w", name, api.ErrNotFound)
	}
	return img, err
}
