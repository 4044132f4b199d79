package server

import (
	"context"
	"maps"
	"net/http"

	"lite/client/api"
)

// Networks is what the network endpoints need; *network.Manager is the real one.
type Networks interface {
	Create(ctx context.Context, req api.NetworksPost) error
	Update(ctx context.Context, name string, put api.NetworkPut) error
	Rename(ctx context.Context, old, name string) error
	Delete(ctx context.Context, name string) error
	Get(ctx context.Context, name string) (api.Network, error)
	List(ctx context.Context) ([]api.Network, error)
	State(ctx context.Context, name string) (api.NetworkState, error)
	Leases(ctx context.Context, name string) ([]api.NetworkLease, error)
}

var networkEndpoints = []endpoint{
	{"GET /1.0/networks", listNetworks},
	{"POST /1.0/networks", createNetwork},
	{"GET /1.0/networks/{name}", getNetwork},
	{"PUT /1.0/networks/{name}", putNetwork},
	{"PATCH /1.0/networks/{name}", patchNetwork},
	{"POST /1.0/networks/{name}", renameNetwork},
	{"DELETE /1.0/networks/{name}", deleteNetwork},
	{"GET /1.0/networks/{name}/state", networkState},
	{"GET /1.0/networks/{name}/leases", networkLeases},
}

func listNetworks(s *Server, r *http.Request) Response {
	list, err := s.Networks.List(r.Context())
	if err != nil {
		return Error(err)
	}
	if recursion(r) == "" || recursion(r) == "0" {
		urls := []string{}
		for _, n := range list {
			urls = append(urls, "/1.0/networks/"+n.Name)
		}
		return Sync(urls)
	}
	return Sync(list)
}

func createNetwork(s *Server, r *http.Request) Response {
	var req api.NetworksPost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if err := s.Networks.Create(r.Context(), req); err != nil {
		return Error(err)
	}
	s.Hub.Lifecycle("network-created", "/1.0/networks/"+req.Name, nil)
	return Created("/1.0/networks/" + req.Name)
}

func getNetwork(s *Server, r *http.Request) Response {
	n, err := s.Networks.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return Error(err)
	}
	return Sync(n)
}

func putNetwork(s *Server, r *http.Request) Response {
	var put api.NetworkPut
	if err := decode(r, &put); err != nil {
		return Error(err)
	}
	return updateNetwork(s, r, put)
}

// patchNetwork merges the keys sent into the config; an empty value unsets a key.
func patchNetwork(s *Server, r *http.Request) Response {
	cur, err := s.Networks.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return Error(err)
	}
	patch := api.NetworkPut{Description: cur.Description}
	if err := decode(r, &patch); err != nil {
		return Error(err)
	}
	cfg := maps.Clone(cur.Config)
	for k, v := range patch.Config {
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	patch.Config = cfg
	return updateNetwork(s, r, patch)
}

func updateNetwork(s *Server, r *http.Request, put api.NetworkPut) Response {
	name := r.PathValue("name")
	if err := s.Networks.Update(r.Context(), name, put); err != nil {
		return Error(err)
	}
	s.Hub.Lifecycle("network-updated", "/1.0/networks/"+name, nil)
	return EmptySync()
}

func renameNetwork(s *Server, r *http.Request) Response {
	var req api.NetworkPost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	old := r.PathValue("name")
	if err := s.Networks.Rename(r.Context(), old, req.Name); err != nil {
		return Error(err)
	}
	s.Hub.Lifecycle("network-renamed", "/1.0/networks/"+req.Name, map[string]any{"old_name": old})
	return Created("/1.0/networks/" + req.Name)
}

func deleteNetwork(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	if err := s.Networks.Delete(r.Context(), name); err != nil {
		return Error(err)
	}
	s.Hub.Lifecycle("network-deleted", "/1.0/networks/"+name, nil)
	return EmptySync()
}

func networkState(s *Server, r *http.Request) Response {
	st, err := s.Networks.State(r.Context(), r.PathValue("name"))
	if err != nil {
		return Error(err)
	}
	return Sync(st)
}

func networkLeases(s *Server, r *http.Request) Response {
	l, err := s.Networks.Leases(r.Context(), r.PathValue("name"))
	if err != nil {
		return Error(err)
	}
	return Sync(l)
}
