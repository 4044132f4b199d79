package server

import (
	"context"
	"net/http"

	"lite/client/api"
	"lite/lxd-lite/operations"
	"lite/profiles"
)

// renameInstance is POST /1.0/instances/{name} {"name": NEW}: rename a stopped instance.
func renameInstance(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	var req api.InstancePost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if err := profiles.ValidateInstanceName(req.Name); err != nil {
		return Error(err)
	}
	full, err := s.Instances.Get(r.Context(), name)
	if err != nil {
		return Error(err)
	}
	if full.StatusCode != api.Stopped {
		return Errorf(api.ErrInvalid, "instance %q is running: stop it before renaming it", name)
	}
	if err := s.Instances.CheckNewName(r.Context(), req.Name, name); err != nil {
		return Error(err)
	}
	return instanceOp(s, name, "Renaming instance", func(ctx context.Context, _ *operations.Op) error {
		return s.Instances.Rename(ctx, name, req.Name)
	})
}
