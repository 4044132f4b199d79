package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"lite/client/api"
)

// fileReq sends one request to the files endpoint of f1 with the given X-LXD headers.
func fileReq(t *testing.T, e *env, method, path string, headers map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://lite/1.0/instances/f1/files?path="+q(path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestFileAPIHeaders(t *testing.T) {
	e := newEnv(t)
	// Privileged: ids are not shifted, so the test needs no root to set owners.
	e.create("f1", map[string]any{"config": map[string]string{"security.privileged": "true"}})
	uid := strconv.Itoa(0)
	if resp, body := fileReq(t, e, "POST", "/etc", map[string]string{"X-LXD-type": "directory", "X-LXD-mode": "0755"}, ""); resp.StatusCode != 200 {
		t.Fatalf("mkdir: %d %s", resp.StatusCode, body)
	}
	big := strings.Repeat("x", 5<<20) // over the JSON body limit: files are streamed
	resp, body := fileReq(t, e, "POST", "/etc/app.conf", map[string]string{"X-LXD-type": "file", "X-LXD-mode": "0640", "X-LXD-write": "overwrite"}, big)
	if resp.StatusCode != 200 {
		t.Fatalf("push: %d %s", resp.StatusCode, body)
	}
	// A relative path starts at the container's root, as in LXD (lxc file pull c1/etc/x).
	if resp, got := fileReq(t, e, "GET", "etc/app.conf", nil, ""); resp.StatusCode != 200 || got != big {
		t.Errorf("GET of the relative path etc/app.conf: %d, %d bytes", resp.StatusCode, len(got))
	}
	if resp, _ := fileReq(t, e, "POST", "/etc/app.conf", map[string]string{"X-LXD-write": "append"}, "END"); resp.StatusCode != 200 {
		t.Fatalf("append: %d", resp.StatusCode)
	}
	resp, body = fileReq(t, e, "GET", "/etc/app.conf", nil, "")
	if resp.StatusCode != 200 || body != big+"END" {
		t.Fatalf("pull: %d, %d bytes", resp.StatusCode, len(body))
	}
	uid = resp.Header.Get("X-LXD-uid")
	for k, want := range map[string]string{"X-LXD-type": "file", "X-LXD-mode": "0640", "Content-Type": "application/octet-stream"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if _, err := strconv.Atoi(uid); err != nil || resp.Header.Get("X-LXD-gid") == "" {
		t.Errorf("X-LXD-uid %q, X-LXD-gid %q", uid, resp.Header.Get("X-LXD-gid"))
	}
	if resp, body := fileReq(t, e, "POST", "/etc/link", map[string]string{"X-LXD-type": "symlink"}, "/etc/app.conf"); resp.StatusCode != 200 {
		t.Fatalf("symlink: %d %s", resp.StatusCode, body)
	}
	resp, body = fileReq(t, e, "GET", "/etc/link", nil, "")
	if resp.Header.Get("X-LXD-type") != "symlink" || body != "/etc/app.conf" {
		t.Errorf("symlink: type %q body %q", resp.Header.Get("X-LXD-type"), body)
	}
	resp, body = fileReq(t, e, "GET", "/etc", nil, "")
	var env api.Response
	var names []string
	if err := json.Unmarshal([]byte(body), &env); err != nil || json.Unmarshal(env.Metadata, &names) != nil {
		t.Fatalf("directory listing: %s", body)
	}
	if resp.Header.Get("X-LXD-type") != "directory" || strings.Join(names, ",") != "app.conf,link" {
		t.Errorf("directory: type %q names %v", resp.Header.Get("X-LXD-type"), names)
	}
	for _, tc := range []struct {
		method, path string
		headers      map[string]string
		status       int
	}{
		{"POST", "/etc/x", map[string]string{"X-LXD-mode": "999"}, 400},
		{"POST", "/etc/x", map[string]string{"X-LXD-uid": "abc"}, 400},
		{"POST", "/etc/x", map[string]string{"X-LXD-write": "bogus"}, 400},
		{"POST", "/etc/x", map[string]string{"X-LXD-type": "fifo"}, 400},
		{"POST", "/etc/link", nil, 400}, // never written through
		{"GET", "", nil, 400},
		{"GET", "/etc/../etc/app.conf", nil, 400},
		{"GET", "/nope", nil, 404},
		{"POST", "/nope/x", nil, 404},
		{"DELETE", "/etc", nil, 400}, // not empty
	} {
		if resp, body := fileReq(t, e, tc.method, tc.path, tc.headers, "data"); resp.StatusCode != tc.status {
			t.Errorf("%s %s %v: %d %s, want %d", tc.method, tc.path, tc.headers, resp.StatusCode, body, tc.status)
		}
	}
	if resp, _ := fileReq(t, e, "GET", "/etc/x", nil, ""); resp.StatusCode != 404 {
		t.Errorf("a refused push left /etc/x (%d)", resp.StatusCode)
	}
	if resp, _ := fileReq(t, e, "DELETE", "/etc/link", nil, ""); resp.StatusCode != 200 {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if resp, _ := fileReq(t, e, "GET", "/etc/app.conf", nil, ""); resp.StatusCode != 200 {
		t.Errorf("deleting a symlink removed its target (%d)", resp.StatusCode)
	}
}
