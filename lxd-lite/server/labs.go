package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

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
	list, err := s.Labs.List(r.Context())
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
	l, err := s.Labs.Get(r.Context(), r.PathValue("name"))
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
	plan, err := s.Labs.Plan(r.Context(), l, req)
	if err != nil {
		return Error(err)
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

func downLab(s *Server, r *http.Request) Response {
	return labOp(s, r, "Bringing lab down", func(ctx context.Context, op *operations.Op, name string) error {
		return s.Labs.Down(ctx, name, labProgress(op))
	})
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
	return labOp(s, r, "Snapshotting lab", func(ctx context.Context, _ *operations.Op, name string) error {
		return s.Labs.SnapshotLab(ctx, name, req.Name)
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
	return labOp(s, r, "Restoring lab", func(ctx context.Context, op *operations.Op, name string) error {
		return s.Labs.RestoreLab(ctx, name, req.Snapshot, labProgress(op))
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
