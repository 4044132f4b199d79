package server

import (
	"encoding/json"
	"net/http"
	"strings"

	"lite/client/api"
)

// LXD 5.0 still serves its pre-"instances" API under /1.0/containers (pylxd 2.2 and Ansible's
// LXD modules use nothing else). lite registers every /1.0/instances endpoint a second time
// under that prefix, with the same handler; only the URLs in the answer change, as LXD's
// answers there name /1.0/containers. Operations keep LXD's shape: resources carry both the
// "instances" and the "containers" key, with /1.0/instances URLs (as LXD 5.0 does).
const (
	instancesPrefix = "/1.0/instances"
	containersPath  = "/1.0/containers"
)

// legacyPattern returns the /1.0/containers alias of an endpoint pattern, or "" when the
// endpoint is not under /1.0/instances.
func legacyPattern(pattern string) string {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || (path != instancesPrefix && !strings.HasPrefix(path, instancesPrefix+"/")) {
		return ""
	}
	return method + " " + containersPath + strings.TrimPrefix(path, instancesPrefix)
}

// checkProject refuses a project other than "default": lite has one project, and LXD answers
// an unknown project this way.
func checkProject(r *http.Request) Response {
	p := r.URL.Query().Get("project")
	if p == "" || p == "default" {
		return nil
	}
	return Errorf(api.ErrNotFound, "Project not found (lite has only the project \"default\"; drop --project %s)", p)
}

// legacyResponse rewrites the /1.0/instances URLs of a sync answer to /1.0/containers: its
// Location, and the URL lists LXD's list endpoints answer (recursion=0). Objects are left as
// they are: they carry no instance URLs, and a user's config value that happens to start
// with the API path must come back as it was written.
func legacyResponse(resp Response) Response {
	s, ok := resp.(syncResponse)
	if !ok {
		return resp
	}
	s.location = legacyURL(s.location)
	b, err := json.Marshal(s.metadata)
	if err != nil {
		return resp
	}
	var list []json.RawMessage
	if json.Unmarshal(b, &list) != nil {
		return s
	}
	for i, e := range list {
		var u string
		if json.Unmarshal(e, &u) == nil {
			if list[i], err = json.Marshal(legacyURL(u)); err != nil {
				return resp
			}
		}
	}
	s.metadata = list
	return s
}

func legacyURL(s string) string {
	if s == instancesPrefix || strings.HasPrefix(s, instancesPrefix+"/") || strings.HasPrefix(s, instancesPrefix+"?") {
		return containersPath + strings.TrimPrefix(s, instancesPrefix)
	}
	return s
}
