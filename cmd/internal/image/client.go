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
	GetImages() ([]api.Image, error)
	GetImage(fp string) (*api.Image, error)
	GetImageAlias(name string) (*api.ImageAliasesEntry, error)
	GetImageAliases() ([]api.ImageAliasesEntry, error)
	CreateImage(up client.ImageUpload) (*client.Operation, error)
	CreateImageFromSource(req api.ImagesPost) (*client.Operation, error)
	DeleteImage(fp string) (*client.Operation, error)
	ExportImage(fp, target string) ([]string, error)
	CreateImageAlias(a api.ImageAliasesPost) error
	RenameImageAlias(name, to string) error
	DeleteImageAlias(name string) error
}

// imageClient returns the factory's client as a Client.
func imageClient(f func() (cli.Client, error)) (Client, error) {
	c, err := f()
	if err != nil {
		return nil, err
	}
	ic, ok := c.(Client)
	if !ok {
		return nil, fmt.Errorf("this client cannot manage images")
	}
	return ic, nil
}

// op adapts a *client.Operation to cli.Operation for progress.Wait.
type op struct{ *client.Operation }

func (o op) Wait(ctx context.Context, onProgress func(map[string]any)) (api.Operation, error) {
	o.OnProgress = onProgress
	err := o.Operation.Wait(ctx)
	return o.Get(), err
}

// resolve turns an alias, fingerprint or unique fingerprint prefix into the image.
func resolve(c Client, name string) (*api.Image, error) {
	if a, err := c.GetImageAlias(name); err == nil {
		return c.GetImage(a.Target)
	} else if !errors.Is(err, api.ErrNotFound) {
		return nil, err
	}
	img, err := c.GetImage(strings.ToLower(name))
	if errors.Is(err, api.ErrNotFound) {
		return nil, fmt.Errorf("image %q not found: no alias or fingerprint matches: %w", name, api.ErrNotFound)
	}
	return img, err
}
