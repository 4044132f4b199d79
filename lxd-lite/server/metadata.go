package server

import (
	"fmt"
	"io"
	"net/http"

	"lite/client/api"
	"lite/lxd-lite/instance"
)

// metadataEndpoints are LXD's per-instance image metadata (metadata.yaml as JSON) and
// template files (?path= names one, a plain file name).
var metadataEndpoints = []endpoint{
	{"GET /1.0/instances/{name}/metadata", getMetadata},
	{"PUT /1.0/instances/{name}/metadata", putMetadata},
	{"PATCH /1.0/instances/{name}/metadata", patchMetadata},
	{"GET /1.0/instances/{name}/metadata/templates", getTemplates},
	{"POST /1.0/instances/{name}/metadata/templates", putTemplate},
	{"PUT /1.0/instances/{name}/metadata/templates", putTemplate},
	{"DELETE /1.0/instances/{name}/metadata/templates", deleteTemplate},
}

func getMetadata(s *Server, r *http.Request) Response {
	md, err := s.Metadata.Metadata(r.Context(), r.PathValue("name"))
	if err != nil {
		return Error(err)
	}
	return Sync(md)
}

func putMetadata(s *Server, r *http.Request) Response {
	var md api.ImageMetadata
	if err := decode(r, &md); err != nil {
		return Error(err)
	}
	return setMetadata(s, r, md)
}

// patchMetadata merges the body's keys over the current metadata (maps merge key by key).
func patchMetadata(s *Server, r *http.Request) Response {
	md, err := s.Metadata.Metadata(r.Context(), r.PathValue("name"))
	if err != nil {
		return Error(err)
	}
	if err := decode(r, &md); err != nil {
		return Error(err)
	}
	return setMetadata(s, r, md)
}

func setMetadata(s *Server, r *http.Request, md api.ImageMetadata) Response {
	if err := s.Metadata.SetMetadata(r.Context(), r.PathValue("name"), md); err != nil {
		return Error(fmt.Errorf("instance %q metadata: %w", r.PathValue("name"), err))
	}
	return EmptySync()
}

func getTemplates(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	tpl := r.URL.Query().Get("path")
	if tpl == "" {
		names, err := s.Metadata.Templates(r.Context(), name)
		if err != nil {
			return Error(err)
		}
		return Sync(names)
	}
	b, err := s.Metadata.Template(r.Context(), name, tpl)
	if err != nil {
		return Error(err)
	}
	return Manual(func(w http.ResponseWriter) error {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, err := w.Write(b)
		return err
	})
}

// templatePath is the ?path= of a template request: required.
func templatePath(r *http.Request) (string, error) {
	tpl := r.URL.Query().Get("path")
	if tpl == "" {
		return "", fmt.Errorf("missing ?path= (the template's file name): %w", api.ErrInvalid)
	}
	return tpl, instance.ValidTemplateName(tpl)
}

func putTemplate(s *Server, r *http.Request) Response {
	tpl, err := templatePath(r)
	if err != nil {
		return Error(err)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, instance.MaxMetadataSize+1))
	if err != nil {
		return Error(fmt.Errorf("read template body: %v: %w", err, api.ErrInvalid))
	}
	if len(b) > instance.MaxMetadataSize {
		return Errorf(api.ErrInvalid, "template %q is over the %d byte limit", tpl, instance.MaxMetadataSize)
	}
	if err := s.Metadata.SetTemplate(r.Context(), r.PathValue("name"), tpl, b); err != nil {
		return Error(err)
	}
	return EmptySync()
}

func deleteTemplate(s *Server, r *http.Request) Response {
	tpl, err := templatePath(r)
	if err != nil {
		return Error(err)
	}
	if err := s.Metadata.DeleteTemplate(r.Context(), r.PathValue("name"), tpl); err != nil {
		return Error(err)
	}
	return EmptySync()
}
