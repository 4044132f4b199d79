package client

import (
	"context"

	"lite/client/api"
)

// GetServer returns the server description (GET /1.0).
func (c *Client) GetServer(ctx context.Context) (*api.Server, error) {
	var srv api.Server
	if err := c.get(ctx, "/1.0", nil, &srv); err != nil {
		return nil, err
	}
	return &srv, nil
}
