package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"lite/client/api"
)

// ExportInstance streams a backup of an instance (with its snapshots unless instanceOnly) to w.
func (c *Client) ExportInstance(ctx context.Context, name string, instanceOnly bool, w io.Writer) error {
	return c.export(ctx, name, instanceOnly, false, w)
}

// ExportInstanceLayers is ExportInstance for a target that holds the instance's image: the
// backup carries only the writable layers (index.yaml names the image) when the instance is
// built on an image, else the whole root filesystem.
func (c *Client) ExportInstanceLayers(ctx context.Context, name string, instanceOnly bool, w io.Writer) error {
	return c.export(ctx, name, instanceOnly, true, w)
}

func (c *Client) export(ctx context.Context, name string, instanceOnly, layers bool, w io.Writer) error {
	q := url.Values{}
	if instanceOnly {
		q.Set("instance_only", "true")
	}
	if layers {
		q.Set("layers", "writable")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint("http", apiPath("/1.0/instances", name)+"/export", q), nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, err := parseResponse(resp)
		return err
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("export %s: the backup was cut short: %w", name, err)
	}
	return nil
}

// ImportInstance uploads a backup and returns the import operation; name "" keeps the
// backup's instance name.
func (c *Client) ImportInstance(ctx context.Context, r io.Reader, name string) (*Operation, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint("http", "/1.0/instances", c.targetQuery()), r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if name != "" {
		req.Header.Set("X-LXD-name", name)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	env, err := parseResponse(resp)
	if err != nil {
		return nil, err
	}
	return c.operationFrom(env, "POST /1.0/instances")
}

// operationFrom reads the operation of an async reply.
func (c *Client) operationFrom(env *api.Response, what string) (*Operation, error) {
	if env.Type != api.AsyncResponse {
		return nil, fmt.Errorf("%s: expected an operation, got a %q reply", what, env.Type)
	}
	var op api.Operation
	if err := json.Unmarshal(env.Metadata, &op); err != nil || op.ID == "" {
		return nil, fmt.Errorf("%s: bad operation in the reply: %v", what, err)
	}
	return &Operation{c: c, op: op}, nil
}
