package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"lite/client/api"
	"lite/lxd-lite/lab"
	"lite/lxd-lite/operations"
	"lite/profiles"
)

var labEndpoints = []endpoint{
	{"GET /1.0/labs", listLabs},
	{"POST /1.0/labs", upLab},
	{"GET /1.0/labs/{name}", getLab},
	{"DELETE /1.0/labs/{name}", downLab},
	{"POST /1.0/labs/{name}/snapshots", snapshotLab},
	{"POST /1.0/labs/{name}/restore", restoreLab},
	{"GET /1.0/labs/{name}/capture", captureLab},
}

// LabURL is a lab's API path.
func LabURL(name string) string { return "/1.0/labs/" + name }

func listLabs(s *Server, r *http.Request) Response {
	list, err := s.Labs.List(r.Context(), s.labInstances(r))
	if err != nil {
		return Error(err)
	}
	if recursion(r) == "" || recursion(r) == "0" {
		urls := []string{}
		for _, l := range list {
			urls = append(urls, LabURL(l.Name))
		}
		return Sync(urls)
	}
	return Sync(list)
}

func getLab(s *Server, r *http.Request) Response {
	l, err := s.Labs.Get(r.Context(), r.PathValue("name"), s.labInstances(r))
	if err != nil {
		return Error(err)
	}
	return Sync(l)
}

// upLab validates the file and plans before answering, so a bad file or a clash fails the
// request itself with nothing changed; a dry run answers with the plan.
func upLab(s *Server, r *http.Request) Response {
	var req api.LabsPost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	l, err := lab.Parse(req)
	if err != nil {
		return Error(err)
	}
	coordinate := s.labCoordinator(r)
	if req.Share != nil && (coordinate || r.Header.Get(ForwardedHeader) == "") {
		return Errorf(api.ErrInvalid, "share: only a cluster member coordinating a lab up sets it: leave it out")
	}
	plan, err := s.Labs.Plan(r.Context(), l, req)
	if err != nil {
		return Error(err)
	}
	var placement map[string]string
	if coordinate {
		// Placed before anything changes, so a bad target: fails the request itself.
		if placement, err = s.placeLab(r.Context(), l); err != nil {
			return Error(err)
		}
		for i, c := range plan.Changes {
			if c.Kind == "node" && placement[c.Name] != "" {
				plan.Changes[i].Detail = strings.TrimSpace(c.Detail + " on " + placement[c.Name])
			}
		}
	}
	if req.DryRun {
		return Sync(plan)
	}
	unlock, err := s.Labs.Lock(l.Name)
	if err != nil {
		return Error(err)
	}
	op := s.Ops.Start(operations.Spec{
		Description: "Bringing lab up",
		Resources:   map[string][]string{"labs": {LabURL(l.Name)}},
		Run: func(ctx context.Context, op *operations.Op) error {
			defer unlock()
			if coordinate {
				return s.upLabCluster(ctx, l, req, plan, placement, labProgress(op))
			}
			return s.Labs.Up(ctx, l, req, labProgress(op))
		},
	})
	return Async(op)
}

// labProgress publishes each node's step as metadata nodes.<name> and as one progress line.
func labProgress(op *operations.Op) lab.Progress {
	return func(node, msg string) {
		op.UpdateMetadata(map[string]any{"node." + node: msg, "lab_progress": node + ": " + msg})
	}
}

// downLab removes a lab; in a cluster the members that hold its nodes remove theirs first.
func downLab(s *Server, r *http.Request) Response {
	share := r.Header.Get(ForwardedHeader) != ""
	coordinate := s.labCoordinator(r)
	return labOp(s, r, "Bringing lab down", func(ctx context.Context, op *operations.Op, name string) error {
		if coordinate {
			if err := s.labOnMembers(ctx, name, "DELETE", LabURL(name), nil, nil, labProgress(op)); err != nil {
				return err
			}
		}
		return s.Labs.Down(ctx, name, share, labProgress(op))
	})
}

// labInstances is how a lab's status reads its nodes' state: in a cluster, as every member
// reports its own (nil: this member's view).
func (s *Server) labInstances(r *http.Request) lab.InstanceLister {
	if !s.labCoordinator(r) {
		return nil
	}
	return func(context.Context) ([]api.InstanceFull, error) { return s.listAll(r) }
}

// labOp runs fn as an operation on an existing lab, holding its lock.
func labOp(s *Server, r *http.Request, desc string, fn func(ctx context.Context, op *operations.Op, name string) error) Response {
	name := r.PathValue("name")
	if _, err := s.Labs.Lab(r.Context(), name); err != nil {
		return Error(err)
	}
	unlock, err := s.Labs.Lock(name)
	if err != nil {
		return Error(err)
	}
	op := s.Ops.Start(operations.Spec{
		Description: desc,
		Resources:   map[string][]string{"labs": {LabURL(name)}},
		Run: func(ctx context.Context, op *operations.Op) error {
			defer unlock()
			return fn(ctx, op, name)
		},
	})
	return Async(op)
}

func snapshotLab(s *Server, r *http.Request) Response {
	var req api.LabSnapshotsPost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if err := profiles.ValidateSnapshotName(req.Name); err != nil {
		return Error(err)
	}
	coordinate := s.labCoordinator(r)
	return labOp(s, r, "Snapshotting lab", func(ctx context.Context, op *operations.Op, name string) error {
		local := func(ctx context.Context) error { return s.Labs.SnapshotLab(ctx, name, req.Name) }
		if coordinate {
			return s.labOnMembers(ctx, name, "POST", LabURL(name)+"/snapshots", req, local, labProgress(op))
		}
		return local(ctx)
	})
}

func restoreLab(s *Server, r *http.Request) Response {
	var req api.LabRestorePost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if err := profiles.ValidateSnapshotName(req.Snapshot); err != nil {
		return Error(err)
	}
	coordinate := s.labCoordinator(r)
	return labOp(s, r, "Restoring lab", func(ctx context.Context, op *operations.Op, name string) error {
		local := func(ctx context.Context) error { return s.Labs.RestoreLab(ctx, name, req.Snapshot, labProgress(op)) }
		if coordinate {
			return s.labOnMembers(ctx, name, "POST", LabURL(name)+"/restore", req, local, labProgress(op))
		}
		return local(ctx)
	})
}

// captureLab streams a pcap of a lab interface: the reply starts once tcpdump listens, so a
// client that has the headers knows that what it sends next is captured. It ends when the
// client goes away or the count is reached.
func captureLab(s *Server, r *http.Request) Response {
	q := r.URL.Query()
	o := lab.CaptureOptions{Target: q.Get("target"), Filter: q["filter"]}
	if c := q.Get("count"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil {
			return Errorf(api.ErrInvalid, "count %q: want a number of packets", c)
		}
		o.Count = n
	}
	if s.labCoordinator(r) {
		// The interface is in its node's namespaces, on the node's member.
		node, _, _ := strings.Cut(o.Target, ":")
		if member, err := s.instanceMember(r.Context(), node); err == nil && member != "" && member != s.localName() {
			return Manual(func(w http.ResponseWriter) error {
				s.forward(w, r, member)
				return nil
			})
		}
	}
	c, err := s.Labs.Capture(r.Context(), r.PathValue("name"), o)
	if err != nil {
		return Error(err)
	}
	return Manual(func(w http.ResponseWriter) error {
		w.Header().Set("Content-Type", "application/vnd.tcpdump.pcap")
		w.Header().Set("X-Lite-Capture", c.Where)
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		_ = rc.Flush()
		_, cerr := io.Copy(flushWriter{w, rc}, c.Out)
		werr := c.Wait()
		if r.Context().Err() != nil {
			return nil // the client stopped the capture
		}
		return errors.Join(cerr, werr)
	})
}

// flushWriter sends every write to the client at once.
type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}
