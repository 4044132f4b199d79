package server

import (
	"net/http"
	"time"

	"lite/client/api"
	"lite/db"
)

var imageEndpoints = []endpoint{
	{"GET /1.0/images", listImages},
	{"GET /1.0/images/aliases", listAliases},
	{"POST /1.0/images", createImage},
	{"POST /1.0/images/aliases", createAlias},
	{"GET /1.0/images/aliases/{name}", getAlias},
	{"PUT /1.0/images/aliases/{name}", putAlias},
	{"PATCH /1.0/images/aliases/{name}", patchAlias},
	{"POST /1.0/images/aliases/{name}", renameAlias},
	{"DELETE /1.0/images/aliases/{name}", deleteAlias},
	// LXD routes aliases/{name:.*}: pylxd 2.2 sends an alias's slash unescaped
	// (/1.0/images/aliases/debian/12), lxc escapes it (debian%2F12).
	{"GET /1.0/images/aliases/{name}/{rest...}", slashedAlias(getAlias)},
	{"PUT /1.0/images/aliases/{name}/{rest...}", slashedAlias(putAlias)},
	{"PATCH /1.0/images/aliases/{name}/{rest...}", slashedAlias(patchAlias)},
	{"POST /1.0/images/aliases/{name}/{rest...}", slashedAlias(renameAlias)},
	{"DELETE /1.0/images/aliases/{name}/{rest...}", slashedAlias(deleteAlias)},
	{"GET /1.0/images/{fp}", getImage},
	{"PUT /1.0/images/{fp}", putImage},
	{"PATCH /1.0/images/{fp}", patchImage},
	{"DELETE /1.0/images/{fp}", deleteImage},
	// {fp}/{sub}, not {fp}/export: the latter would clash with aliases/{name} in ServeMux.
	{"GET /1.0/images/{fp}/{sub}", imageSub},
}

// slashedAlias serves an alias name that arrived with unescaped slashes.
func slashedAlias(fn handler) handler {
	return func(s *Server, r *http.Request) Response {
		r.SetPathValue("name", r.PathValue("name")+"/"+r.PathValue("rest"))
		return fn(s, r)
	}
}

// ImageToAPI renders an image row for the wire.
func ImageToAPI(img db.Image) api.Image {
	out := api.Image{
		ImagePut: api.ImagePut{
			AutoUpdate: img.AutoUpdate, Properties: img.Properties, Public: img.Public,
			Profiles: []string{"default"}, ExpiresAt: time.Unix(0, 0).UTC(),
		},
		Aliases: []api.ImageAlias{}, Architecture: img.Architecture, Cached: img.Cached,
		Filename: img.Filename, Fingerprint: img.Fingerprint, Size: img.Size, Type: img.Type,
		CreatedAt: img.CreatedAt, UploadedAt: img.UploadedAt, LastUsedAt: time.Unix(0, 0).UTC(),
	}
	if img.LastUsedAt.Valid {
		out.LastUsedAt = img.LastUsedAt.Time
	}
	if img.ExpiresAt.Valid {
		out.ExpiresAt = img.ExpiresAt.Time
	}
	for _, a := range img.Aliases {
		out.Aliases = append(out.Aliases, api.ImageAlias{Name: a.Name, Description: a.Description})
	}
	return out
}

func listImages(s *Server, r *http.Request) Response {
	list, err := s.Images.List(r.Context())
	if err != nil {
		return Error(err)
	}
	if recursion(r) == "" || recursion(r) == "0" {
		urls := []string{}
		for _, img := range list {
			urls = append(urls, "/1.0/images/"+img.Fingerprint)
		}
		return Sync(urls)
	}
	out := []api.Image{}
	for _, img := range list {
		out = append(out, ImageToAPI(img))
	}
	return Sync(out)
}

func getImage(s *Server, r *http.Request) Response {
	img, err := s.Images.Get(r.Context(), r.PathValue("fp"))
	if err != nil {
		return Error(err)
	}
	return Sync(ImageToAPI(img))
}

func aliasToAPI(a db.Alias) api.ImageAliasesEntry {
	return api.ImageAliasesEntry{Name: a.Name, Description: a.Description, Target: a.Target, Type: "container"}
}

func listAliases(s *Server, r *http.Request) Response {
	list, err := s.Images.Aliases(r.Context())
	if err != nil {
		return Error(err)
	}
	if recursion(r) == "" || recursion(r) == "0" {
		urls := []string{}
		for _, a := range list {
			urls = append(urls, "/1.0/images/aliases/"+a.Name)
		}
		return Sync(urls)
	}
	out := []api.ImageAliasesEntry{}
	for _, a := range list {
		out = append(out, aliasToAPI(a))
	}
	return Sync(out)
}

func getAlias(s *Server, r *http.Request) Response {
	a, err := s.Images.Alias(r.Context(), r.PathValue("name"))
	if err != nil {
		return Error(err)
	}
	return Sync(aliasToAPI(a))
}

// imageSub serves GET /1.0/images/{fp}/export.
func imageSub(s *Server, r *http.Request) Response {
	if r.PathValue("sub") != "export" {
		return Errorf(api.ErrNotFound, "no such endpoint %s %s", r.Method, r.URL.Path)
	}
	return exportImage(s, r)
}
