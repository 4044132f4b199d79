package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"lite/client/api"
)

// GetLabs returns every lab with its nodes' state (GET /1.0/labs?recursion=1).
func (c *Client) GetLabs(ctx context.Context) ([]api.Lab, error) {
	var list []api.Lab
	if err := c.get(ctx, "/1.0/labs", url.Values{"recursion": {"1"}}, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// GetLab returns one lab with its nodes' state.
func (c *Client) GetLab(ctx context.Context, name string) (*api.Lab, error) {
	var l api.Lab
	if err := c.get(ctx, apiPath("/1.0/labs", name), nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// PlanLab returns what an up of req would change, changing nothing (lite lab diff).
func (c *Client) PlanLab(ctx context.Context, req api.LabsPost) (*api.LabPlan, error) {
	req.DryRun = true
	env, err := c.do(ctx, request{method: http.MethodPost, path: "/1.0/labs", body: req})
	if err != nil {
		return nil, err
	}
	var plan api.LabPlan
	if err := json.Unmarshal(env.Metadata, &plan); err != nil {
		return nil, fmt.Errorf("decode lab plan: %w", err)
	}
	return &plan, nil
}

// UpLab creates or converges a lab; the operation ends when every node is ready.
func (c *Client) UpLab(ctx context.Context, req api.LabsPost) (*Operation, error) {
	req.DryRun = false
	return c.operation(ctx, request{method: http.MethodPost, path: "/1.0/labs", body: req})
}

// DownLab removes every object of a lab.
func (c *Client) DownLab(ctx context.Context, name string) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodDelete, path: apiPath("/1.0/labs", name)})
}

// SnapshotLab snapshots every node of a lab at one consistent point.
func (c *Client) SnapshotLab(ctx context.Context, name, snap string) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodPost, path: apiPath("/1.0/labs", name) + "/snapshots", body: api.LabSnapshotsPost{Name: snap}})
}

// RestoreLab restores every node of a lab to a lab snapshot (api.LabProvisioned: reset).
func (c *Client) RestoreLab(ctx context.Context, name, snap string) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodPost, path: apiPath("/1.0/labs", name) + "/restore", body: api.LabRestorePost{Snapshot: snap}})
}

// CaptureLab starts a packet capture on a lab interface (NODE:IFACE or a link) and returns
// the pcap stream once lited's tcpdump listens, and what it listens on. count > 0 ends it
// after that many packets; closing the stream ends it too.
func (c *Client) CaptureLab(ctx context.Context, name, target string, filter []string, count int) (io.ReadCloser, string, error) {
	q := url.Values{"target": {target}}
	if len(filter) > 0 {
		q["filter"] = filter
	}
	if count > 0 {
		q.Set("count", strconv.Itoa(count))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint("http", apiPath("/1.0/labs", name)+"/capture", q), nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		defer func() { _ = resp.Body.Close() }()
		_, err := parseResponse(resp)
		if err == nil {
			err = fmt.Errorf("capture: unexpected reply %s", resp.Status)
		}
		return nil, "", err
	}
	return resp.Body, resp.Header.Get("X-Lite-Capture"), nil
}
