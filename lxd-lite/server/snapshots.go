package server

import (
	"context"
	"net/http"

	"lite/client/api"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/operations"
	"lite/profiles"
)

var snapshotEndpoints = []endpoint{
	{"GET /1.0/instances/{name}/snapshots", listSnapshots},
	{"POST /1.0/instances/{name}/snapshots", createSnapshot},
	{"GET /1.0/instances/{name}/snapshots/{snap}", getSnapshot},
	{"PUT /1.0/instances/{name}/snapshots/{snap}", updateSnapshot},
	{"POST /1.0/instances/{name}/snapshots/{snap}", renameSnapshot},
	{"DELETE /1.0/instances/{name}/snapshots/{snap}", deleteSnapshot},
	{"POST /1.0/instances/{name}", renameInstance},
}

func listSnapshots(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	list, err := s.Snapshots.Snapshots(r.Context(), name)
	if err != nil {
		return Error(err)
	}
	if recursion(r) == "" || recursion(r) == "0" {
		urls := make([]string, 0, len(list))
		for _, sn := range list {
			urls = append(urls, instance.SnapshotURL(name, sn.Name))
		}
		return Sync(urls)
	}
	return Sync(list)
}

// snapshotOp starts an operation on one snapshot.
func snapshotOp(s *Server, name, snap, desc string, run func(ctx context.Context, op *operations.Op) error) Response {
	op := s.Ops.Start(operations.Spec{
		Description: desc,
		Resources: map[string][]string{
			"instances":           {instance.URL(name)},
			"instances_snapshots": {instance.SnapshotURL(name, snap)},
		},
		Run: run,
	})
	return Async(op)
}

func createSnapshot(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	var req api.InstanceSnapshotsPost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if req.Name != "" {
		if err := profiles.ValidateSnapshotName(req.Name); err != nil {
			return Error(err)
		}
	}
	if _, err := s.Instances.Get(r.Context(), name); err != nil {
		return Error(err)
	}
	if req.Name != "" && !req.Reuse {
		if _, err := s.Snapshots.GetSnapshot(r.Context(), name, req.Name); err == nil {
			return Errorf(api.ErrAlreadyExists, "snapshot %q of instance %q already exists (use --reuse to replace it)", req.Name, name)
		}
	}
	return snapshotOp(s, name, req.Name, "Snapshotting instance", func(ctx context.Context, op *operations.Op) error {
		snap, err := s.Snapshots.Snapshot(ctx, name, req)
		if err == nil && req.Name == "" {
			op.SetResources(map[string][]string{
				"instances":           {instance.URL(name)},
				"instances_snapshots": {instance.SnapshotURL(name, snap)},
			})
		}
		return err
	})
}

func getSnapshot(s *Server, r *http.Request) Response {
	snap, err := s.Snapshots.GetSnapshot(r.Context(), r.PathValue("name"), r.PathValue("snap"))
	if err != nil {
		return Error(err)
	}
	return Sync(snap)
}

func updateSnapshot(s *Server, r *http.Request) Response {
	name, snap := r.PathValue("name"), r.PathValue("snap")
	var put api.InstanceSnapshotPut
	if err := decode(r, &put); err != nil {
		return Error(err)
	}
	if _, err := s.Snapshots.GetSnapshot(r.Context(), name, snap); err != nil {
		return Error(err)
	}
	return snapshotOp(s, name, snap, "Updating snapshot", func(ctx context.Context, _ *operations.Op) error {
		return s.Snapshots.UpdateSnapshot(ctx, name, snap, put)
	})
}

func renameSnapshot(s *Server, r *http.Request) Response {
	name, snap := r.PathValue("name"), r.PathValue("snap")
	var req api.InstanceSnapshotPost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if req.Migration || req.Live {
		return Errorf(api.ErrInvalid, "snapshot migration is not supported")
	}
	if err := profiles.ValidateSnapshotName(req.Name); err != nil {
		return Error(err)
	}
	if _, err := s.Snapshots.GetSnapshot(r.Context(), name, snap); err != nil {
		return Error(err)
	}
	if _, err := s.Snapshots.GetSnapshot(r.Context(), name, req.Name); err == nil {
		return Errorf(api.ErrAlreadyExists, "snapshot %q of instance %q already exists", req.Name, name)
	}
	return snapshotOp(s, name, snap, "Renaming snapshot", func(ctx context.Context, _ *operations.Op) error {
		return s.Snapshots.RenameSnapshot(ctx, name, snap, req.Name)
	})
}

func deleteSnapshot(s *Server, r *http.Request) Response {
	name, snap := r.PathValue("name"), r.PathValue("snap")
	if _, err := s.Snapshots.GetSnapshot(r.Context(), name, snap); err != nil {
		return Error(err)
	}
	return snapshotOp(s, name, snap, "Deleting snapshot", func(ctx context.Context, _ *operations.Op) error {
		return s.Snapshots.DeleteSnapshot(ctx, name, snap)
	})
}
