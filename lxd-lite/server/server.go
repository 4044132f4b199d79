// Package server is lited's REST API: one endpoint table, handlers that return Response
// values, and one adapter for body limits, rendering and the error fallback.
package server

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"

	"lite/client/api"
	"lite/lxd-lite/cluster"
	"lite/lxd-lite/events"
	"lite/lxd-lite/imagesvc"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/lab"
	"lite/lxd-lite/operations"
	"lite/lxd-lite/settings"
)

// maxBody bounds JSON request bodies; uploads use their own streaming paths.
const maxBody = 4 << 20

// Server holds what the handlers need: services, not stores. Instances go through the
// lifecycle (exec and console too), images and aliases through the image service, long work
// through the operations manager, the server config and the trust store through settings.
type Server struct {
	Instances *instance.Manager
	Snapshots *instance.Snapshots
	Backups   *instance.Backups
	Profiles  *instance.Profiles
	Metadata  *instance.Metadata
	Files     *instance.Files
	Networks  Networks
	Images    *imagesvc.Service
	Labs      *lab.Service
	Settings  *settings.Service
	Ops       *operations.Manager
	Hub       *events.Hub
	Info      func() api.Server
	Log       *slog.Logger
	// Remote serves the HTTPS side (nil: unix socket only).
	Remote *Remote
	// Cluster is this lited's membership (never nil in lited; LocalName is "" on a single
	// host). Route is the view forwarding uses (lited: the same service; tests: a fake);
	// Placement says which member each instance lives on. Requests for another member's
	// instance are forwarded to it.
	Cluster   *cluster.Service
	Route     ClusterView
	Placement Placement

	cl forwarding
}

type handler func(s *Server, r *http.Request) Response

type endpoint struct {
	pattern string // method and path, Go ServeMux syntax
	fn      handler
}

// endpointGroups is the API, one table per area (each in that area's file). Names in paths
// arrive percent-encoded (debian%2F12); ServeMux keeps an encoded slash inside one segment and
// PathValue unescapes it.
func endpointGroups() [][]endpoint {
	return [][]endpoint{coreEndpoints, instanceEndpoints, imageEndpoints, profileEndpoints, networkEndpoints,
		snapshotEndpoints, fileEndpoints, consoleEndpoints, metadataEndpoints, backupEndpoints, backupAPIEndpoints, labEndpoints, serverConfigEndpoints, certificateEndpoints, clusterEndpoints}
}

var coreEndpoints = []endpoint{
	{"GET /{$}", func(*Server, *http.Request) Response { return Sync([]string{"/1.0"}) }},
	{"GET /1.0", getServer},
	{"GET /1.0/events", getEvents},
	{"GET /1.0/operations", listOperations},
	{"GET /1.0/operations/{id}", getOperation},
	{"DELETE /1.0/operations/{id}", cancelOperation},
	{"GET /1.0/operations/{id}/wait", waitOperation},
	{"GET /1.0/operations/{id}/websocket", operationWebsocket},
	{"GET /1.0/projects", func(*Server, *http.Request) Response { return Sync([]string{"/1.0/projects/default"}) }},
}

// Handler returns the HTTP handler serving the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, e := range slices.Concat(endpointGroups()...) {
		mux.HandleFunc(e.pattern, s.adapt(e, false))
		if p := legacyPattern(e.pattern); p != "" {
			mux.HandleFunc(p, s.adapt(e, true))
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_ = Errorf(api.ErrNotFound, "no such endpoint %s %s", r.Method, r.URL.Path).Render(w)
	})
	return mux
}

// adapt turns an endpoint into an http.HandlerFunc: body limits, the project check, the
// legacy URL rewrite, rendering.
func (s *Server) adapt(e endpoint, legacy bool) http.HandlerFunc {
	fn, raw := e.fn, rawBody[e.pattern]
	return func(w http.ResponseWriter, r *http.Request) {
		if s.route(w, r, e.pattern) {
			return // forwarded to the member that serves it
		}
		// Uploads (images, files, backups) are streamed, not bounded: by endpoint, or by an
		// octet-stream body on an endpoint that also takes JSON.
		if r.Body != nil && !raw && !streamingBody(r) {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		resp := checkForwarded(r)
		if resp == nil {
			resp = checkProject(r)
		}
		if resp == nil {
			resp = fn(s, r)
		}
		if legacy {
			resp = legacyResponse(resp)
		}
		if err := resp.Render(w); err != nil {
			s.Log.Debug("write response", "path", r.URL.Path, "err", err)
		}
	}
}

// decode reads a JSON body into v; unknown fields are ignored, as LXD's clients send more.
func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("read request body: %v: %w", err, api.ErrInvalid)
	}
	if len(b) == 0 {
		return fmt.Errorf("empty request body: %w", api.ErrInvalid)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("bad JSON in request body: %v: %w", err, api.ErrInvalid)
	}
	return nil
}
