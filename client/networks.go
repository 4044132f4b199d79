package client

import (
	"context"
	"net/http"
	"net/url"

	"lite/client/api"
)

// GetNetworks returns every network (GET /1.0/networks?recursion=1).
func (c *Client) GetNetworks(ctx context.Context) ([]api.Network, error) {
	var list []api.Network
	if err := c.get(ctx, "/1.0/networks", url.Values{"recursion": {"1"}}, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// GetNetwork returns one network.
func (c *Client) GetNetwork(ctx context.Context, name string) (*api.Network, error) {
	var n api.Network
	if err := c.get(ctx, apiPath("/1.0/networks", name), nil, &n); err != nil {
		return nil, err
	}
	return &n, nil
}

// GetNetworkState returns the live state of a network's bridge.
func (c *Client) GetNetworkState(ctx context.Context, name string) (*api.NetworkState, error) {
	var st api.NetworkState
	if err := c.get(ctx, apiPath("/1.0/networks", name)+"/state", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// CreateNetwork makes a managed network (POST /1.0/networks).
func (c *Client) CreateNetwork(ctx context.Context, req api.NetworksPost) error {
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/1.0/networks", body: req})
	return err
}

// UpdateNetwork replaces a network's config and description (PUT).
func (c *Client) UpdateNetwork(ctx context.Context, name string, put api.NetworkPut) error {
	_, err := c.do(ctx, request{method: http.MethodPut, path: apiPath("/1.0/networks", name), body: put})
	return err
}

// RenameNetwork renames a network nothing uses.
func (c *Client) RenameNetwork(ctx context.Context, name string, req api.NetworkPost) error {
	_, err := c.do(ctx, request{method: http.MethodPost, path: apiPath("/1.0/networks", name), body: req})
	return err
}

// DeleteNetwork deletes a network nothing uses.
func (c *Client) DeleteNetwork(ctx context.Context, name string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: apiPath("/1.0/networks", name)})
	return err
}

// GetNetworkLeases returns a network's DHCP leases and reservations.
func (c *Client) GetNetworkLeases(ctx context.Context, name string) ([]api.NetworkLease, error) {
	var l []api.NetworkLease
	if err := c.get(ctx, apiPath("/1.0/networks", name)+"/leases", nil, &l); err != nil {
		return nil, err
	}
	return l, nil
}
