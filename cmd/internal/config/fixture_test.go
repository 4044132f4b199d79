package config

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/cli/clitest"
)

// daemon is a fake lited holding profiles, instances, the server config and trusted
// certificates in memory; instance updates are operations that end as updateOp.
type daemon struct {
	*clitest.Server
	mu        sync.Mutex
	profiles  map[string]api.Profile
	instances map[string]api.InstanceFull
	config    map[string]string
	certs     []api.Certificate
	updateOp  api.Operation
	tokenMD   map[string]any
}

func newDaemon(t *testing.T) *daemon {
	d := &daemon{Server: clitest.NewServer(t), config: map[string]string{},
		profiles: map[string]api.Profile{"default": {Name: "default", UsedBy: []string{"/1.0/instances/c1"},
			ProfilePut: api.ProfilePut{Description: "Default", Devices: map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default"}}}}},
		instances: map[string]api.InstanceFull{"c1": {Instance: api.Instance{Name: "c1", InstancePut: api.InstancePut{
			Config: map[string]string{"limits.cpu": "1"}, Profiles: []string{"default"}},
			ExpandedConfig:  map[string]string{"limits.cpu": "1", "user.p": "x"},
			ExpandedDevices: map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default"}}}}},
	}
	d.handle("GET /1.0/profiles", func(*http.Request) (any, int, string) {
		out := []api.Profile{}
		for _, n := range slices.Sorted(maps.Keys(d.profiles)) {
			out = append(out, d.profiles[n])
		}
		return out, 0, ""
	})
	d.handle("GET /1.0/profiles/{name}", func(r *http.Request) (any, int, string) {
		p, ok := d.profiles[r.PathValue("name")]
		if !ok {
			return nil, http.StatusNotFound, "Profile not found"
		}
		return p, 0, ""
	})
	d.handle("POST /1.0/profiles", func(r *http.Request) (any, int, string) {
		var req api.ProfilesPost
		_ = json.NewDecoder(r.Body).Decode(&req)
		if _, ok := d.profiles[req.Name]; ok {
			return nil, http.StatusConflict, "Profile already exists"
		}
		d.profiles[req.Name] = api.Profile{Name: req.Name, ProfilePut: req.ProfilePut}
		return nil, 0, ""
	})
	d.handle("PUT /1.0/profiles/{name}", func(r *http.Request) (any, int, string) {
		p, ok := d.profiles[r.PathValue("name")]
		if !ok {
			return nil, http.StatusNotFound, "Profile not found"
		}
		p.ProfilePut = api.ProfilePut{}
		_ = json.NewDecoder(r.Body).Decode(&p.ProfilePut)
		d.profiles[p.Name] = p
		return nil, 0, ""
	})
	d.handle("POST /1.0/profiles/{name}", func(r *http.Request) (any, int, string) {
		var req api.ProfilePost
		_ = json.NewDecoder(r.Body).Decode(&req)
		p := d.profiles[r.PathValue("name")]
		delete(d.profiles, p.Name)
		p.Name = req.Name
		d.profiles[p.Name] = p
		return nil, 0, ""
	})
	d.handle("DELETE /1.0/profiles/{name}", func(r *http.Request) (any, int, string) {
		if _, ok := d.profiles[r.PathValue("name")]; !ok {
			return nil, http.StatusNotFound, "Profile not found"
		}
		delete(d.profiles, r.PathValue("name"))
		return nil, 0, ""
	})
	d.handle("GET /1.0/instances/{name}", func(r *http.Request) (any, int, string) {
		inst, ok := d.instances[r.PathValue("name")]
		if !ok {
			return nil, http.StatusNotFound, "Instance not found"
		}
		return inst, 0, ""
	})
	d.Mux.HandleFunc("PUT /1.0/instances/{name}", func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		inst := d.instances[r.PathValue("name")]
		inst.InstancePut = api.InstancePut{}
		_ = json.NewDecoder(r.Body).Decode(&inst.InstancePut)
		final := d.updateOp
		if final.StatusCode == 0 {
			d.instances[inst.Name] = inst
		}
		d.mu.Unlock()
		d.Async(w, final)
	})
	d.handle("GET /1.0", func(*http.Request) (any, int, string) {
		return api.Server{ServerPut: api.ServerPut{Config: maps.Clone(d.config)}}, 0, ""
	})
	d.handle("PUT /1.0", func(r *http.Request) (any, int, string) {
		var put api.ServerPut
		_ = json.NewDecoder(r.Body).Decode(&put)
		d.config = put.Config
		return nil, 0, ""
	})
	d.handle("GET /1.0/certificates", func(*http.Request) (any, int, string) { return d.certs, 0, "" })
	d.handle("DELETE /1.0/certificates/{fp}", func(r *http.Request) (any, int, string) {
		for i, c := range d.certs {
			if c.Fingerprint == r.PathValue("fp") {
				d.certs = append(d.certs[:i], d.certs[i+1:]...)
				return nil, 0, ""
			}
		}
		return nil, http.StatusNotFound, "Certificate not found"
	})
	d.Mux.HandleFunc("POST /1.0/certificates", func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		md := d.tokenMD
		d.mu.Unlock()
		d.Async(w, api.Operation{Metadata: md})
	})
	return d
}

// handle serves route with fn, under the daemon's lock: fn returns the metadata of a
// synchronous answer, or an HTTP status and message for an error.
func (d *daemon) handle(route string, fn func(r *http.Request) (md any, status int, msg string)) {
	d.Mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		md, status, msg := fn(r)
		d.mu.Unlock()
		if status != 0 {
			clitest.Fail(w, status, msg)
			return
		}
		if md == nil {
			md = map[string]any{}
		}
		clitest.Sync(w, md)
	})
}

// profile returns a copy of a profile as the daemon holds it.
func (d *daemon) profile(name string) api.Profile {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.profiles[name]
}

// instance returns a copy of an instance as the daemon holds it.
func (d *daemon) instance(name string) api.InstanceFull {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.instances[name]
}

// serverConfig returns a copy of the server config the daemon holds.
func (d *daemon) serverConfig() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.config)
}

// factory returns a Factory whose default daemon is d and, for each remote named in
// remotes ("host2" -> its daemon), a remote reached with "host2:".
func factory(t *testing.T, d *daemon, stdin string, remotes map[string]*daemon) (*cli.Factory, *strings.Builder) {
	ios, _, _ := cli.TestIO(stdin)
	out := &strings.Builder{}
	ios.Out = out
	c := d.Client(t)
	f := &cli.Factory{IO: ios, API: func() (*client.Client, error) { return c, nil }}
	f.SplitRemote = func(ref string) (func() (*client.Client, error), string, bool) {
		name, rest, ok := strings.Cut(ref, ":")
		r, known := remotes[name]
		if !ok || !known {
			return nil, "", false
		}
		rc := r.Client(t)
		return func() (*client.Client, error) { return rc, nil }, rest, true
	}
	return f, out
}

// run runs a command tree built on f with args and returns what it printed.
func run(cmd *cobra.Command, out *strings.Builder, args ...string) (string, error) {
	out.Reset()
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(out)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	return out.String(), err
}
