package server

import (
	"net/http"
	"net/url"

	"lite/client/api"
)

var clusterEndpoints = []endpoint{
	{"GET /1.0/cluster", getCluster},
	{"GET /1.0/cluster/members", listClusterMembers},
	{"GET /1.0/cluster/members/{name}", getClusterMember},
}

func getCluster(s *Server, r *http.Request) Response {
	name := s.Cluster.LocalName()
	return Sync(api.Cluster{ServerName: name, Enabled: name != "", MemberConfig: []api.ClusterMemberConfigKey{}})
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
