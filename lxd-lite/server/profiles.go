package server

import (
	"context"
	"net/http"
	"net/url"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/operations"
)

var profileEndpoints = []endpoint{
	{"GET /1.0/profiles", listProfiles},
	{"POST /1.0/profiles", createProfile},
	{"GET /1.0/profiles/{name}", getProfile},
	{"PUT /1.0/profiles/{name}", putProfile},
	{"PATCH /1.0/profiles/{name}", patchProfile},
	{"POST /1.0/profiles/{name}", renameProfile},
	{"DELETE /1.0/profiles/{name}", deleteProfile},
	{"PATCH /1.0/instances/{name}", patchInstance},
}

// profileURL is a profile's API path.
func profileURL(name string) string { return "/1.0/profiles/" + url.PathEscape(name) }

func profileToAPI(s *Server, r *http.Request, p db.Profile) (api.Profile, error) {
	users, err := s.Profiles.UsedBy(r.Context(), p.Name)
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
	names, err := s.Profiles.Names(r.Context())
	if err != nil {
		return Error(err)
	}
	if recursion(r) == "" || recursion(r) == "0" {
		urls := []string{}
		for _, n := range names {
			urls = append(urls, profileURL(n))
		}
		return Sync(urls)
	}
	out := []api.Profile{}
	for _, n := range names {
		p, err := s.Profiles.Get(r.Context(), n)
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
	p, err := s.Profiles.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return Error(err)
	}
	ap, err := profileToAPI(s, r, p)
	if err != nil {
		return Error(err)
	}
	return Sync(ap)
}

func createProfile(s *Server, r *http.Request) Response {
	var req api.ProfilesPost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	p := db.Profile{Name: req.Name, Description: req.Description, Config: req.Config, Devices: req.Devices}
	if err := s.Profiles.CreateProfile(r.Context(), p); err != nil {
		return Error(err)
	}
	return Created(profileURL(req.Name))
}

func putProfile(s *Server, r *http.Request) Response {
	var req api.ProfilePut
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	p := db.Profile{Name: r.PathValue("name"), Description: req.Description, Config: req.Config, Devices: req.Devices}
	if err := s.Profiles.UpdateProfile(r.Context(), p); err != nil {
		return Error(err)
	}
	return EmptySync()
}

// patchBody is a PATCH request: only the fields present change. Config keys merge (an empty
// value removes the key), devices merge by name.
type patchBody struct {
	Config      map[string]string            `json:"config"`
	Devices     map[string]map[string]string `json:"devices"`
	Description *string                      `json:"description"`
	Profiles    []string                     `json:"profiles"`
}

// merge applies a patch to config, devices and description.
func (b patchBody) merge(cfg map[string]string, devs map[string]map[string]string, desc *string) {
	for k, v := range b.Config {
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	for k, v := range b.Devices {
		devs[k] = v
	}
	if b.Description != nil {
		*desc = *b.Description
	}
}

func patchProfile(s *Server, r *http.Request) Response {
	var req patchBody
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	p, err := s.Profiles.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return Error(err)
	}
	req.merge(p.Config, p.Devices, &p.Description)
	if err := s.Profiles.UpdateProfile(r.Context(), p); err != nil {
		return Error(err)
	}
	return EmptySync()
}

func renameProfile(s *Server, r *http.Request) Response {
	var req api.ProfilePost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if err := s.Profiles.RenameProfile(r.Context(), r.PathValue("name"), req.Name); err != nil {
		return Error(err)
	}
	return Created(profileURL(req.Name))
}

func deleteProfile(s *Server, r *http.Request) Response {
	if err := s.Profiles.DeleteProfile(r.Context(), r.PathValue("name")); err != nil {
		return Error(err)
	}
	return EmptySync()
}

// patchInstance merges config, devices and description into an instance (and replaces its
// profiles when given), then updates it like a PUT.
func patchInstance(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	var req patchBody
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	full, err := s.Instances.Get(r.Context(), name)
	if err != nil {
		return Error(err)
	}
	put := full.InstancePut
	req.merge(put.Config, put.Devices, &put.Description)
	if req.Profiles != nil {
		put.Profiles = req.Profiles
	}
	return instanceOp(s, name, "Updating instance", func(ctx context.Context, op *operations.Op) error {
		return s.Instances.Update(ctx, name, put)
	})
}
