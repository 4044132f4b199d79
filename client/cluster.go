package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"lite/client/api"
)

// GetCluster returns whether the server is a cluster member and its member name.
func (c *Client) GetCluster(ctx context.Context) (*api.Cluster, error) {
	var cl api.Cluster
	if err := c.get(ctx, "/1.0/cluster", nil, &cl); err != nil {
		return nil, err
	}
	return &cl, nil
}

// UpdateCluster enables clustering ({server_name, enabled: true}) or joins a cluster (with
// cluster_token); the operation ends when the server is a member.
func (c *Client) UpdateCluster(ctx context.Context, put api.ClusterPut) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodPut, path: "/1.0/cluster", body: put})
}

// GetClusterMembers returns every member with its status.
func (c *Client) GetClusterMembers(ctx context.Context) ([]api.ClusterMember, error) {
	var list []api.ClusterMember
	if err := c.get(ctx, "/1.0/cluster/members", url.Values{"recursion": {"1"}}, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// GetClusterMember returns one member.
func (c *Client) GetClusterMember(ctx context.Context, name string) (*api.ClusterMember, error) {
	var m api.ClusterMember
	if err := c.get(ctx, apiPath("/1.0/cluster/members", name), nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// CreateClusterMemberToken asks for a join token for a new member called name; the
// operation's metadata holds it (serverName, fingerprint, addresses, secret, expiresAt).
func (c *Client) CreateClusterMemberToken(ctx context.Context, name string) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodPost, path: "/1.0/cluster/members", body: api.ClusterMembersPost{ServerName: name}})
}

// DeleteClusterMember removes a member; force also removes one that still has instances
// (their rows go with it).
func (c *Client) DeleteClusterMember(ctx context.Context, name string, force bool) error {
	var q url.Values
	if force {
		q = url.Values{"force": {"1"}}
	}
	_, err := c.do(ctx, request{method: http.MethodDelete, path: apiPath("/1.0/cluster/members", name), query: q})
	return err
}

// AcceptClusterMember presents a join request to a member (lited calls it on behalf of a
// joining server; the secret authenticates it).
func (c *Client) AcceptClusterMember(ctx context.Context, req api.ClusterJoinRequest) (*api.ClusterJoinResponse, error) {
	resp, err := c.do(ctx, request{method: http.MethodPost, path: "/internal/cluster/accept", body: req})
	if err != nil {
		return nil, err
	}
	var out api.ClusterJoinResponse
	if err := json.Unmarshal(resp.Metadata, &out); err != nil {
		return nil, fmt.Errorf("read the member's answer: %w", err)
	}
	return &out, nil
}
