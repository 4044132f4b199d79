package server

import (
	"context"
	"net/http"
	"net/url"

	"lite/client/api"
	"lite/lxd-lite/cluster"
	"lite/lxd-lite/operations"
)

var clusterEndpoints = []endpoint{
	{"GET /1.0/cluster", getCluster},
	{"PUT /1.0/cluster", putCluster},
	{"GET /1.0/cluster/members", listClusterMembers},
	{"POST /1.0/cluster/members", createClusterToken},
	{"GET /1.0/cluster/members/{name}", getClusterMember},
	{"DELETE /1.0/cluster/members/{name}", deleteClusterMember},
	{"POST /internal/cluster/accept", acceptClusterMember},
}

func getCluster(s *Server, r *http.Request) Response {
	name := s.Cluster.LocalName()
	return Sync(api.Cluster{ServerName: name, Enabled: name != "", MemberConfig: []api.ClusterMemberConfigKey{}})
}

// putCluster enables clustering ({server_name, enabled: true}) or joins a cluster (with
// cluster_token), as an operation: moving the database takes a moment.
func putCluster(s *Server, r *http.Request) Response {
	var req api.ClusterPut
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if !req.Enabled {
		return Errorf(api.ErrInvalid, "a cluster member cannot leave by itself (not supported): remove it from another member with \"lite cluster remove NAME\"")
	}
	if s.Cluster.Enabled() {
		return Errorf(api.ErrConflict, "this server is already cluster member %q", s.Cluster.LocalName())
	}
	cfg, err := s.Settings.Config(r.Context())
	if err != nil {
		return Error(err)
	}
	https := cfg["core.https_address"]
	desc := "Enabling clustering"
	if req.ClusterToken != "" {
		desc = "Joining cluster"
	}
	op := s.Ops.Start(operations.Spec{
		Class: api.OperationClassTask, Description: desc,
		Run: func(ctx context.Context, _ *operations.Op) error {
			if req.ClusterToken != "" {
				return s.Cluster.Join(ctx, cluster.JoinOptions{Name: req.ServerName, Token: req.ClusterToken,
					HTTPSAddress: https, DBAddress: req.DatabaseAddress})
			}
			return s.Cluster.Enable(ctx, cluster.EnableOptions{Name: req.ServerName, HTTPSAddress: https, DBAddress: req.DatabaseAddress})
		},
	})
	return Async(op)
}

func listClusterMembers(s *Server, r *http.Request) Response {
	list, err := s.Cluster.Members(r.Context())
	if err != nil {
		return Error(err)
	}
	if recursion(r) == "" || recursion(r) == "0" {
		urls := make([]string, 0, len(list))
		for _, m := range list {
			urls = append(urls, "/1.0/cluster/members/"+url.PathEscape(m.ServerName))
		}
		return Sync(urls)
	}
	return Sync(list)
}

func getClusterMember(s *Server, r *http.Request) Response {
	m, err := s.Cluster.Member(r.Context(), r.PathValue("name"))
	if err != nil {
		return Error(err)
	}
	return Sync(m)
}

// createClusterToken answers with a token operation whose metadata is the join token's
// content (LXD's shape: serverName, secret, fingerprint, addresses, expiresAt). The token
// lives in the database, so any member accepts it; the operation ends at once.
func createClusterToken(s *Server, r *http.Request) Response {
	var req api.ClusterMembersPost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	ttl, err := s.Settings.TokenTTL(r.Context())
	if err != nil {
		return Error(err)
	}
	tok, err := s.Cluster.CreateToken(r.Context(), req.ServerName, ttl)
	if err != nil {
		return Error(err)
	}
	op := s.Ops.Start(operations.Spec{
		Class: api.OperationClassToken, Description: "Executing operation",
		Metadata: map[string]any{
			"request": req, "serverName": tok.ServerName, "secret": tok.Secret, "fingerprint": tok.Fingerprint,
			"addresses": tok.Addresses, "expiresAt": tok.ExpiresAt,
		},
		Run: func(context.Context, *operations.Op) error { return nil },
	})
	return Async(op)
}

func deleteClusterMember(s *Server, r *http.Request) Response {
	force := r.URL.Query().Get("force")
	if err := s.Cluster.Remove(r.Context(), r.PathValue("name"), force == "1" || force == "true"); err != nil {
		return Error(err)
	}
	return EmptySync()
}

// acceptClusterMember is a joining server presenting its token (allowed untrusted: the
// token's secret is the credential).
func acceptClusterMember(s *Server, r *http.Request) Response {
	var req api.ClusterJoinRequest
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	resp, err := s.Cluster.Accept(r.Context(), req)
	if err != nil {
		s.Log.Warn("refused a cluster join", "name", req.ServerName, "from", r.RemoteAddr, "err", err)
		return Error(err)
	}
	return Sync(resp)
}
