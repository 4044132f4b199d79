package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"lite/client/api"
	"lite/lxd-lite/cluster"
)

// placeNew picks the member a new instance goes to: ?target= when given (it must exist and
// be online), the source's member for a copy (copies across members are not supported yet),
// else the online member with the fewest instances, this one on a tie.
func (s *Server) placeNew(r *http.Request, local string) (string, error) {
	ctx := r.Context()
	target := r.URL.Query().Get("target")
	if !streamingBody(r) {
		src, err := copySource(r)
		if err != nil {
			return "", err
		}
		if src != "" {
			return s.placeCopy(ctx, src, target)
		}
	}
	if target != "" {
		if err := s.onlineMember(ctx, target); err != nil {
			return "", err
		}
		return target, nil
	}
	members, err := s.Route.Members(ctx)
	if err != nil {
		return "", fmt.Errorf("place instance: list cluster members: %w", err)
	}
	nodes, err := s.Placement.InstanceNodes(ctx)
	if err != nil {
		return "", fmt.Errorf("place instance: %w", err)
	}
	return leastLoaded(members, nodes, local)
}

// leastLoaded is the online member with the fewest instances; local wins a tie, then names
// in order, so placement is deterministic.
func leastLoaded(members []api.ClusterMember, nodes map[string]string, local string) (string, error) {
	count := map[string]int{}
	for _, n := range nodes {
		count[n]++
	}
	online := []string{}
	for _, m := range members {
		if m.Status == api.ClusterMemberOnline {
			online = append(online, m.ServerName)
		}
	}
	if len(online) == 0 {
		return "", fmt.Errorf("place instance: no cluster member is online: %w", api.ErrUnavailable)
	}
	return slices.MinFunc(online, cluster.ByLoad(count, local)), nil
}

// placeCopy places a copy on its source's member; another target is refused, as lite cannot
// copy an instance between members yet.
func (s *Server) placeCopy(ctx context.Context, src, target string) (string, error) {
	node, err := s.Placement.InstanceNode(ctx, src)
	if err != nil {
		return "", fmt.Errorf("copy source %q: %w", src, err)
	}
	if target != "" && node != "" && target != node {
		return "", fmt.Errorf("copy %q onto member %q: %q lives on %q and copies between cluster members are not supported yet: copy without --target (the copy goes to %q): %w",
			src, target, src, node, node, api.ErrInvalid)
	}
	return node, nil
}

// copySource peeks at a JSON create request: the source instance's name for a local copy
// ("" otherwise). The body is put back for the handler or the proxy.
func copySource(r *http.Request) (string, error) {
	if r.Body == nil {
		return "", nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return "", fmt.Errorf("read request body: %v: %w", err, api.ErrInvalid)
	}
	if len(b) > maxBody {
		return "", fmt.Errorf("request body over %d bytes: %w", maxBody, api.ErrInvalid)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	var req api.InstancesPost
	if json.Unmarshal(b, &req) != nil || req.Source.Type != "copy" {
		return "", nil // the handler explains a bad body
	}
	name, _, _ := strings.Cut(req.Source.Source, "/")
	return name, nil
}

// checkTarget refuses ?target= on a daemon that is not clustered.
func (s *Server) checkTarget(r *http.Request) error {
	if t := r.URL.Query().Get("target"); t != "" && s.localName() == "" {
		return fmt.Errorf("target %q: this server is not part of a cluster (drop --target, or enable clustering with lite cluster enable): %w", t, api.ErrInvalid)
	}
	return nil
}

// decodeEnvelope reads a member's reply; an error envelope becomes its status error.
func decodeEnvelope(resp *http.Response) (*api.Response, error) {
	var env api.Response
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&env); err != nil {
		return nil, fmt.Errorf("decode reply of %s: %v: %w", resp.Request.URL.Path, err, api.ErrUnavailable)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 || env.Type == api.ErrorResponse {
		return nil, api.NewStatusError(resp.StatusCode, env.ErrorKind, env.Error)
	}
	return &env, nil
}
