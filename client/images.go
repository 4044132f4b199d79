package client

import (
	"context"
	"net/url"

	"lite/client/api"
)

// GetImages returns every local image (GET /1.0/images?recursion=1).
func (c *Client) GetImages(ctx context.Context) ([]api.Image, error) {
	var list []api.Image
	if err := c.get(ctx, "/1.0/images", url.Values{"recursion": {"1"}}, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// GetImage returns the image with this fingerprint or unique fingerprint prefix.
func (c *Client) GetImage(ctx context.Context, fingerprint string) (*api.Image, error) {
	var img api.Image
	if err := c.get(ctx, apiPath("/1.0/images", fingerprint), nil, &img); err != nil {
		return nil, err
	}
	return &img, nil
}

// GetImageAlias returns an alias and the fingerprint it points at. Names may contain "/".
func (c *Client) GetImageAlias(ctx context.Context, name string) (*api.ImageAliasesEntry, error) {
	var alias api.ImageAliasesEntry
	if err := c.get(ctx, apiPath("/1.0/images/aliases", name), nil, &alias); err != nil {
		return nil, err
	}
	return &alias, nil
}
