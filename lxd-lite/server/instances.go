package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"lite/client/api"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/operations"
)

var instanceEndpoints = []endpoint{
	{"GET /1.0/instances", listInstances},
	{"POST /1.0/instances", createInstance},
	{"GET /1.0/instances/{name}", getInstance},
	{"PUT /1.0/instances/{name}", updateInstance},
	{"DELETE /1.0/instances/{name}", deleteInstance},
	{"GET /1.0/instances/{name}/state", getInstanceState},
	{"PUT /1.0/instances/{name}/state", putInstanceState},
	{"POST /1.0/instances/{name}/exec", execInstance},
	{"GET /1.0/instances/{name}/logs", listInstanceLogs},
	{"GET /1.0/instances/{name}/logs/{file}", getInstanceLog},
}

func recursion(r *http.Request) string { return r.URL.Query().Get("recursion") }

func listInstances(s *Server, r *http.Request) Response {
	list, err := s.listAll(r)
	if err != nil {
		return Error(err)
	}
	f, err := parseFilter(r.URL.Query().Get("filter"))
	if err != nil {
		return Error(err)
	}
	switch recursion(r) {
	case "", "0":
		urls := []string{}
		for _, i := range list {
			if f.match(i) {
				urls = append(urls, instance.URL(i.Name))
			}
		}
		return Sync(urls)
	case "1":
		out := []api.Instance{}
		for _, i := range list {
			if f.match(i) {
				out = append(out, i.Instance)
			}
		}
		return Sync(out)
	}
	out := []api.InstanceFull{}
	for _, i := range list {
		if f.match(i) {
			out = append(out, i)
		}
	}
	return Sync(out)
}

func getInstance(s *Server, r *http.Request) Response {
	full, err := s.Instances.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return Error(err)
	}
	full.Location = s.location()
	if recursion(r) == "" || recursion(r) == "0" {
		return Sync(full.Instance)
	}
	return Sync(full)
}

func getInstanceState(s *Server, r *http.Request) Response {
	full, err := s.Instances.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return Error(err)
	}
	return Sync(full.State)
}

// instanceOp starts an operation on one instance.
func instanceOp(s *Server, name, desc string, run func(ctx context.Context, op *operations.Op) error) Response {
	op := s.Ops.Start(operations.Spec{
		Description: desc,
		Resources:   map[string][]string{"instances": {instance.URL(name)}},
		Run:         run,
	})
	return Async(op)
}

func createInstance(s *Server, r *http.Request) Response {
	if err := s.checkTarget(r); err != nil {
		return Error(err)
	}
	if streamingBody(r) {
		return importInstance(s, r) // a backup tarball, as in LXD
	}
	var req api.InstancesPost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	// Check what can be checked before answering, so a bad name fails the request itself.
	if req.Name != "" {
		if err := s.Instances.CheckNewName(r.Context(), req.Name, ""); err != nil {
			return Error(err)
		}
	}
	name := req.Name
	op := s.Ops.Start(operations.Spec{
		Description: "Creating instance",
		Resources:   map[string][]string{"instances": {instance.URL(name)}},
		Run: func(ctx context.Context, op *operations.Op) error {
			created, err := s.Instances.Create(ctx, req, func(key, msg string) { op.Progress(key, msg) })
			if err == nil && name == "" {
				op.SetResources(map[string][]string{"instances": {instance.URL(created)}})
			}
			return err
		},
	})
	return Async(op)
}

func updateInstance(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	var put api.InstancePut
	if err := decode(r, &put); err != nil {
		return Error(err)
	}
	if _, err := s.Instances.Get(r.Context(), name); err != nil {
		return Error(err)
	}
	if put.Restore != "" {
		// LXD's client names the snapshot "c1/s0"; lite's and pylxd send "s0".
		if inst, snap, ok := strings.Cut(put.Restore, "/"); ok {
			if inst != name {
				return Errorf(api.ErrInvalid, "cannot restore %q onto instance %q: a snapshot restores onto its own instance", put.Restore, name)
			}
			put.Restore = snap
		}
		if _, err := s.Snapshots.GetSnapshot(r.Context(), name, put.Restore); err != nil {
			return Error(err)
		}
	}
	return instanceOp(s, name, "Updating instance", func(ctx context.Context, op *operations.Op) error {
		return s.Instances.Update(ctx, name, put)
	})
}

func deleteInstance(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	full, err := s.Instances.Get(r.Context(), name)
	if err != nil {
		return Error(err)
	}
	if full.StatusCode != api.Stopped {
		return Errorf(api.ErrInvalid, "instance %q is running: stop it first, or delete with --force", name)
	}
	return instanceOp(s, name, "Deleting instance", func(ctx context.Context, op *operations.Op) error {
		return s.Instances.Delete(ctx, name)
	})
}

func putInstanceState(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	req := api.InstanceStatePut{Timeout: -1}
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if _, err := s.Instances.Get(r.Context(), name); err != nil {
		return Error(err)
	}
	opts := instance.StopOptions{Timeout: time.Duration(req.Timeout) * time.Second, Force: req.Force}
	if req.Timeout < 0 {
		opts.Timeout = -1
	}
	var run func(ctx context.Context, op *operations.Op) error
	var desc string
	switch req.Action {
	case "start":
		desc, run = "Starting instance", func(ctx context.Context, _ *operations.Op) error { return s.Instances.Start(ctx, name) }
	case "stop":
		desc, run = "Stopping instance", func(ctx context.Context, _ *operations.Op) error { return s.Instances.Stop(ctx, name, opts) }
	case "restart":
		desc, run = "Restarting instance", func(ctx context.Context, _ *operations.Op) error { return s.Instances.Restart(ctx, name, opts) }
	case "freeze":
		desc, run = "Freezing instance", func(ctx context.Context, _ *operations.Op) error { return s.Instances.Pause(ctx, name) }
	case "unfreeze":
		desc, run = "Unfreezing instance", func(ctx context.Context, _ *operations.Op) error { return s.Instances.Resume(ctx, name) }
	default:
		return Errorf(api.ErrInvalid, "unknown action %q (use start, stop, restart, freeze or unfreeze)", req.Action)
	}
	return instanceOp(s, name, desc, run)
}

// listInstanceLogs lists the log files of an instance, as LXD does: lite keeps lxc.log.
func listInstanceLogs(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	if _, err := s.Instances.Get(r.Context(), name); err != nil {
		return Error(err)
	}
	return Sync([]string{instance.URL(name) + "/logs/lxc.log"})
}

// getInstanceLog serves the container's lxc log (lite info --show-log).
func getInstanceLog(s *Server, r *http.Request) Response {
	name, file := r.PathValue("name"), r.PathValue("file")
	if _, err := s.Instances.Get(r.Context(), name); err != nil {
		return Error(err)
	}
	if file != "lxc.log" {
		return Errorf(api.ErrNotFound, "no log %q for instance %q (there is lxc.log)", file, name)
	}
	b, err := os.ReadFile(filepath.Join(s.Instances.Dir(name), "lxc.log"))
	if err != nil && !os.IsNotExist(err) {
		return Error(fmt.Errorf("read log: %w", err))
	}
	return Manual(func(w http.ResponseWriter) error {
		w.Header().Set("Content-Type", "text/plain")
		_, err := w.Write(b)
		return err
	})
}
