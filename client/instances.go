package client

import (
	"context"
	"net/http"
	"net/url"

	"lite/client/api"
)

// GetInstances returns every instance with its state and snapshots
// (GET /1.0/instances?recursion=2). filter is passed to the server as LXD's `filter`
// expression (for example "status eq Running"); "" lists them all.
func (c *Client) GetInstances(ctx context.Context, filter string) ([]api.InstanceFull, error) {
	q := url.Values{"recursion": {"2"}}
	if filter != "" {
		q.Set("filter", filter)
	}
	var list []api.InstanceFull
	if err := c.get(ctx, "/1.0/instances", q, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// GetInstance returns one instance with its state (GET /1.0/instances/{name}?recursion=1).
func (c *Client) GetInstance(ctx context.Context, name string) (*api.InstanceFull, error) {
	var inst api.InstanceFull
	if err := c.get(ctx, apiPath("/1.0/instances", name), url.Values{"recursion": {"1"}}, &inst); err != nil {
		return nil, err
	}
	return &inst, nil
}

// GetInstanceState returns the runtime state of an instance.
func (c *Client) GetInstanceState(ctx context.Context, name string) (*api.InstanceState, error) {
	var st api.InstanceState
	if err := c.get(ctx, apiPath("/1.0/instances", name)+"/state", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// CreateInstance asks for a new instance (POST /1.0/instances). The operation's
// resources["instances"] names it once created.
func (c *Client) CreateInstance(ctx context.Context, req api.InstancesPost) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodPost, path: "/1.0/instances", query: c.targetQuery(), body: req})
}

// UpdateInstanceState starts, stops, restarts, freezes or unfreezes an instance.
func (c *Client) UpdateInstanceState(ctx context.Context, name string, req api.InstanceStatePut) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodPut, path: apiPath("/1.0/instances", name) + "/state", body: req})
}

// UpdateInstance replaces the writable part of an instance (PUT /1.0/instances/{name}).
func (c *Client) UpdateInstance(ctx context.Context, name string, req api.InstancePut) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodPut, path: apiPath("/1.0/instances", name), body: req})
}

// DeleteInstance deletes a stopped instance.
func (c *Client) DeleteInstance(ctx context.Context, name string) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodDelete, path: apiPath("/1.0/instances", name)})
}
