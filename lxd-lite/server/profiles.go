package server

import (
	"net/http"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/instance"
)

var profileEndpoints = []endpoint{
	{"GET /1.0/profiles", listProfiles},
	{"GET /1.0/profiles/{name}", getProfile},
}

func profileToAPI(s *Server, r *http.Request, p db.Profile) (api.Profile, error) {
	users, err := s.DB.ProfileUsedBy(r.Context(), p.Name)
	if err != nil {
		return api.Profile{}, err
	}
	out := api.Profile{ProfilePut: api.ProfilePut{Config: p.Config, Description: p.Description, Devices: p.Devices}, Name: p.Name, UsedBy: []string{}}
	for _, u := range users {
		out.UsedBy = append(out.UsedBy, instance.URL(u))
	}
	return out, nil
}

func listProfiles(s *Server, r *http.Request) Response {
	names, err := s.DB.ListProfileNames(r.Context())
	if err != nil {
		return Error(err)
	}
	if recursion(r) == "" || recursion(r) == "0" {
		urls := []string{}
		for _, n := range names {
			urls = append(urls, "/1.0/profiles/"+n)
		}
		return Sync(urls)
	}
	out := []api.Profile{}
	for _, n := range names {
		p, err := s.DB.GetProfile(r.Context(), n)
		if err != nil {
			return Error(err)
		}
		ap, err := profileToAPI(s, r, p)
		if err != nil {
			return Error(err)
		}
		out = append(out, ap)
	}
	return Sync(out)
}

func getProfile(s *Server, r *http.Request) Response {
	p, err := s.DB.GetProfile(r.Context(), r.PathValue("name"))
	if err != nil {
		return Error(err)
	}
	ap, err := profileToAPI(s, r, p)
	if err != nil {
		return Error(err)
	}
	return Sync(ap)
}
