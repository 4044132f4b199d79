package file

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/cli/clitest"
)

// entry is one object of the fake instance's filesystem.
type entry struct {
	typ     string // file, directory or symlink
	mode    string // as sent in X-LXD-mode
	content string // a file's content or a symlink's target
}

// fakeFS is instance c1's filesystem behind the files endpoint of a fake daemon. answer, when
// set, overrides GET replies (a hostile server).
type fakeFS struct {
	*clitest.Server
	mu     sync.Mutex
	files  map[string]entry
	answer func(w http.ResponseWriter, path string) bool
}

func newFS(t *testing.T, files map[string]entry) (*fakeFS, *cli.IOStreams, func() string, func() (Client, error)) {
	s := &fakeFS{Server: clitest.NewServer(t), files: files}
	s.Mux.HandleFunc("/1.0/instances/c1/files", s.serve)
	s.Mux.HandleFunc("/1.0/instances/{name}/files", func(w http.ResponseWriter, _ *http.Request) {
		clitest.Fail(w, http.StatusNotFound, "Instance not found")
	})
	c := s.Client(t)
	ios, stdout, _ := cli.TestIO("")
	return s, ios, stdout.String, func() (Client, error) { return c, nil }
}

func (s *fakeFS) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query().Get("path")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		if s.answer != nil && s.answer(w, p) {
			return
		}
		e, ok := s.files[p]
		if !ok {
			clitest.Fail(w, http.StatusNotFound, "not found")
			return
		}
		w.Header().Set("X-LXD-type", e.typ)
		w.Header().Set("X-LXD-mode", e.mode)
		w.Header().Set("X-LXD-uid", "0")
		w.Header().Set("X-LXD-gid", "0")
		if e.typ == "directory" {
			names := []string{}
			for k := range s.files {
				if filepath.Dir(k) == p && k != p {
					names = append(names, filepath.Base(k))
				}
			}
			sort.Strings(names)
			clitest.Sync(w, names)
			return
		}
		_, _ = io.WriteString(w, e.content)
	case http.MethodPost:
		b, _ := io.ReadAll(r.Body)
		s.files[p] = entry{typ: r.Header.Get("X-LXD-type"), mode: r.Header.Get("X-LXD-mode"), content: string(b)}
		clitest.Sync(w, map[string]any{})
	case http.MethodDelete:
		if _, ok := s.files[p]; !ok {
			clitest.Fail(w, http.StatusNotFound, "not found")
			return
		}
		delete(s.files, p)
		clitest.Sync(w, map[string]any{})
	}
}

func (s *fakeFS) get(p string) (entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.files[p]
	return e, ok
}

func write(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func TestPushTree(t *testing.T) {
	s, ios, _, c := newFS(t, map[string]entry{})
	src := filepath.Join(t.TempDir(), "site")
	write(t, filepath.Join(src, "index.html"), "<h1>hi</h1>", 0o640)
	write(t, filepath.Join(src, "css", "a.css"), "body{}", 0o644)
	if err := os.Symlink("index.html", filepath.Join(src, "home.html")); err != nil {
		t.Fatal(err)
	}
	err := RunPush(t.Context(), &PushOptions{IO: ios, Client: c, Sources: []string{src}, Target: "c1/srv/",
		UID: -1, GID: -1, Parents: true, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]entry{
		"/srv":                 {typ: "directory"},
		"/srv/site/index.html": {typ: "file", mode: "0640", content: "<h1>hi</h1>"},
		"/srv/site/css":        {typ: "directory", mode: "0755"},
		"/srv/site/css/a.css":  {typ: "file", mode: "0644", content: "body{}"},
		"/srv/site/home.html":  {typ: "symlink", content: "index.html"},
	}
	st, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	want["/srv/site"] = entry{typ: "directory", mode: fmt.Sprintf("%04o", st.Mode().Perm())}
	for p, w := range want {
		if got, ok := s.get(p); !ok || got != w {
			t.Errorf("%s = %+v (present %v), want %+v", p, got, ok, w)
		}
	}
}

func TestPushRefusals(t *testing.T) {
	s, ios, _, c := newFS(t, map[string]entry{})
	dir := t.TempDir()
	write(t, filepath.Join(dir, "f"), "x", 0o644)
	cases := []struct {
		opts PushOptions
		want string
	}{
		{PushOptions{Sources: []string{filepath.Join(dir, "f")}, Target: "c1/f", Mode: "9z"}, `invalid --mode "9z": want octal, e.g. 0644`},
		{PushOptions{Sources: []string{filepath.Join(dir, "f")}, Target: "c1"}, `invalid target "c1": want NAME/PATH`},
		{PushOptions{Sources: []string{dir}, Target: "c1/d"}, dir + " is a directory: use -r to push it"},
	}
	for _, tc := range cases {
		tc.opts.IO, tc.opts.Client, tc.opts.UID, tc.opts.GID = ios, c, -1, -1
		if err := RunPush(t.Context(), &tc.opts); err == nil || err.Error() != tc.want {
			t.Errorf("push %v -> %s: %v, want %q", tc.opts.Sources, tc.opts.Target, err, tc.want)
		}
	}
	if got := s.CallLog(); got != "" {
		t.Errorf("refused pushes sent requests: %q", got)
	}
}

func TestPullTreeAndStdout(t *testing.T) {
	_, ios, stdout, c := newFS(t, map[string]entry{
		"/etc":           {typ: "directory", mode: "0755"},
		"/etc/hostname":  {typ: "file", mode: "0644", content: "c1\n"},
		"/etc/app":       {typ: "directory", mode: "0750"},
		"/etc/app/a.cfg": {typ: "file", mode: "0600", content: "k=v"},
		"/etc/localtime": {typ: "symlink", content: "/usr/share/zoneinfo/UTC"},
	})
	dest := t.TempDir()
	if err := RunPull(t.Context(), &PullOptions{IO: ios, Client: c, Sources: []string{"c1/etc"}, Dest: dest, Recursive: true}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "etc", "app", "a.cfg")); err != nil || string(b) != "k=v" {
		t.Errorf("a.cfg: %q %v", b, err)
	}
	if st, err := os.Stat(filepath.Join(dest, "etc", "app", "a.cfg")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("a.cfg mode: %v %v", st, err)
	}
	if l, err := os.Readlink(filepath.Join(dest, "etc", "localtime")); err != nil || l != "/usr/share/zoneinfo/UTC" {
		t.Errorf("localtime: %q %v", l, err)
	}
	if err := RunPull(t.Context(), &PullOptions{IO: ios, Client: c, Sources: []string{"c1/etc/hostname"}, Dest: "-"}); err != nil || stdout() != "c1\n" {
		t.Errorf("pull to stdout: %q %v", stdout(), err)
	}
	err := RunPull(t.Context(), &PullOptions{IO: ios, Client: c, Sources: []string{"c1/etc"}, Dest: filepath.Join(t.TempDir(), "x")})
	if err == nil || err.Error() != "/etc is a directory: use -r to pull it" {
		t.Errorf("pull of a directory without -r: %v", err)
	}
	err = RunPull(t.Context(), &PullOptions{IO: ios, Client: c, Sources: []string{"c1/etc/hostname", "c1/etc/app/a.cfg"}, Dest: filepath.Join(dest, "nodir")})
	if err == nil || !strings.Contains(err.Error(), "with several sources the destination must be an existing directory") {
		t.Errorf("several sources into a file: %v", err)
	}
}

// TestPullNeverWritesThroughASymlink: a hostile server that names one entry twice, first as a
// symlink to a file of the test and then as a file, gets the symlink replaced, not followed.
func TestPullNeverWritesThroughASymlink(t *testing.T) {
	victim := filepath.Join(t.TempDir(), "victim")
	write(t, victim, "keep", 0o644)
	s, ios, _, c := newFS(t, map[string]entry{"/d": {typ: "directory", mode: "0755"}})
	asked := 0
	s.answer = func(w http.ResponseWriter, p string) bool {
		switch p {
		case "/d":
			w.Header().Set("X-LXD-type", "directory")
			w.Header().Set("X-LXD-mode", "0755")
			clitest.Sync(w, []string{"x", "x"})
			return true
		case "/d/x":
			asked++
			if asked == 1 {
				w.Header().Set("X-LXD-type", "symlink")
				_, _ = io.WriteString(w, victim)
				return true
			}
			w.Header().Set("X-LXD-type", "file")
			w.Header().Set("X-LXD-mode", "0644")
			_, _ = io.WriteString(w, "pwned")
			return true
		}
		return false
	}
	dest := t.TempDir()
	_ = RunPull(t.Context(), &PullOptions{IO: ios, Client: c, Sources: []string{"c1/d"}, Dest: dest, Recursive: true})
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Fatalf("the pull wrote through the planted symlink: victim holds %q", b)
	}
	if asked != 2 {
		t.Errorf("the entry was fetched %d times, want 2 (the test did not exercise the attack)", asked)
	}
}

func TestDeleteStopsAtFirstFailure(t *testing.T) {
	s, ios, _, c := newFS(t, map[string]entry{"/a": {typ: "file"}, "/b": {typ: "file"}})
	err := RunDelete(t.Context(), &DeleteOptions{IO: ios, Client: c, Targets: []string{"c1/a", "c1/missing", "c1/b"}})
	if !errors.Is(err, api.ErrNotFound) {
		t.Errorf("delete of a missing file: %v, want ErrNotFound", err)
	}
	if _, ok := s.get("/a"); ok {
		t.Error("/a was not deleted")
	}
	if _, ok := s.get("/b"); !ok {
		t.Error("/b was deleted after the failure")
	}
	err = RunDelete(t.Context(), &DeleteOptions{IO: ios, Client: c, Targets: []string{"ghost/a"}})
	if !errors.Is(err, api.ErrNotFound) || err.Error() != "Instance not found" {
		t.Errorf("delete in a missing instance: %v", err)
	}
}

func TestEditFromStdin(t *testing.T) {
	s, _, _, c := newFS(t, map[string]entry{"/etc/motd": {typ: "file", mode: "0644", content: "old"}})
	ios, _, _ := cli.TestIO("new motd\n")
	if err := RunEdit(t.Context(), &EditOptions{IO: ios, Client: c, Target: "c1/etc/motd"}); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.get("/etc/motd"); e.content != "new motd\n" {
		t.Errorf("motd = %q after edit from stdin", e.content)
	}
}
