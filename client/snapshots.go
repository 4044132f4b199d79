package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"lite/client/api"
)

// GetInstanceSnapshots returns an instance's snapshots, oldest first.
func (c *Client) GetInstanceSnapshots(ctx context.Context, name string) ([]api.InstanceSnapshot, error) {
	var list []api.InstanceSnapshot
	if err := c.get(ctx, apiPath("/1.0/instances", name)+"/snapshots", url.Values{"recursion": {"1"}}, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// GetInstanceSnapshot returns one snapshot with its size.
func (c *Client) GetInstanceSnapshot(ctx context.Context, name, snap string) (*api.InstanceSnapshot, error) {
	var s api.InstanceSnapshot
	if err := c.get(ctx, apiPath("/1.0/instances", name)+apiPath("/snapshots", snap), nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// CreateInstanceSnapshot takes a snapshot; with an empty name the server picks snapN, named in
// the operation's resources["instances_snapshots"].
func (c *Client) CreateInstanceSnapshot(ctx context.Context, name string, req api.InstanceSnapshotsPost) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodPost, path: apiPath("/1.0/instances", name) + "/snapshots", body: req})
}

// RenameInstanceSnapshot renames a snapshot.
func (c *Client) RenameInstanceSnapshot(ctx context.Context, name, snap string, req api.InstanceSnapshotPost) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodPost, path: apiPath("/1.0/instances", name) + apiPath("/snapshots", snap), body: req})
}

// UpdateInstanceSnapshot changes a snapshot's expiry.
func (c *Client) UpdateInstanceSnapshot(ctx context.Context, name, snap string, req api.InstanceSnapshotPut) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodPut, path: apiPath("/1.0/instances", name) + apiPath("/snapshots", snap), body: req})
}

// DeleteInstanceSnapshot deletes a snapshot.
func (c *Client) DeleteInstanceSnapshot(ctx context.Context, name, snap string) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodDelete, path: apiPath("/1.0/instances", name) + apiPath("/snapshots", snap)})
}

// RestoreInstance restores an instance to one of its snapshots (PUT with "restore", as LXD).
func (c *Client) RestoreInstance(ctx context.Context, name, snap string) (*Operation, error) {
	if snap == "" {
		// An empty "restore" is a plain PUT, which would replace the instance's config.
		return nil, fmt.Errorf("restore %q: no snapshot name given: %w", name, api.ErrInvalid)
	}
	body := map[string]string{"restore": snap}
	return c.operation(ctx, request{method: http.MethodPut, path: apiPath("/1.0/instances", name), body: body})
}

// RenameInstance renames a stopped instance (POST /1.0/instances/{name}).
func (c *Client) RenameInstance(ctx context.Context, name string, req api.InstancePost) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodPost, path: apiPath("/1.0/instances", name), body: req})
}

// CopyInstance creates an instance from another one or a snapshot of it (source type "copy",
// source "c1" or "c1/snap0"); it is CreateInstance returning the client's own operation.
func (c *Client) CopyInstance(ctx context.Context, req api.InstancesPost) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodPost, path: "/1.0/instances", query: c.targetQuery(), body: req})
}
