package client

import (
	"context"
	"net/http"
	"net/url"

	"lite/client/api"
)

// GetProfiles returns every profile (GET /1.0/profiles?recursion=1).
func (c *Client) GetProfiles(ctx context.Context) ([]api.Profile, error) {
	var list []api.Profile
	if err := c.get(ctx, "/1.0/profiles", url.Values{"recursion": {"1"}}, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// GetProfile returns one profile.
func (c *Client) GetProfile(ctx context.Context, name string) (*api.Profile, error) {
	var p api.Profile
	if err := c.get(ctx, apiPath("/1.0/profiles", name), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// CreateProfile creates a profile (POST /1.0/profiles).
func (c *Client) CreateProfile(ctx context.Context, p api.ProfilesPost) error {
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/1.0/profiles", body: p})
	return err
}

// UpdateProfile replaces a profile's writable part (PUT /1.0/profiles/{name}); instances
// using it get the change, running ones at once where it can apply live.
func (c *Client) UpdateProfile(ctx context.Context, name string, p api.ProfilePut) error {
	_, err := c.do(ctx, request{method: http.MethodPut, path: apiPath("/1.0/profiles", name), body: p})
	return err
}

// RenameProfile renames a profile (POST /1.0/profiles/{name}).
func (c *Client) RenameProfile(ctx context.Context, name, newName string) error {
	_, err := c.do(ctx, request{method: http.MethodPost, path: apiPath("/1.0/profiles", name), body: api.ProfilePost{Name: newName}})
	return err
}

// DeleteProfile deletes a profile that no instance uses.
func (c *Client) DeleteProfile(ctx context.Context, name string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: apiPath("/1.0/profiles", name)})
	return err
}
