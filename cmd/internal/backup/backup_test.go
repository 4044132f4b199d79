package backup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/cli/clitest"
)

var tarball = bytes.Repeat([]byte("backup-bytes."), 1000)

// newServer returns a fake daemon and streams, and the Client of the commands.
func newServer(t *testing.T) (*clitest.Server, *cli.IOStreams, func() (Client, error)) {
	s := clitest.NewServer(t)
	c := s.Client(t)
	ios, _, _ := cli.TestIO("")
	return s, ios, func() (Client, error) { return c, nil }
}

// entries lists a directory.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestExportWritesTheBackup(t *testing.T) {
	s, ios, c := newServer(t)
	s.Mux.HandleFunc("GET /1.0/instances/{name}/export", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(tarball)
	})
	out := filepath.Join(t.TempDir(), "c1.tar.gz")
	if err := RunExport(t.Context(), &ExportOptions{IO: ios, Client: c, Name: "c1", File: out, InstanceOnly: true}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, tarball) {
		t.Fatalf("backup file: %d bytes, %v; want the %d bytes served", len(got), err, len(tarball))
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600 (it holds the whole root filesystem)", st.Mode().Perm())
	}
	if got := s.CallLog(); got != "GET /1.0/instances/c1/export?instance_only=true" {
		t.Errorf("calls = %q", got)
	}
}

// TestExportReplacesASymlink: a symlink standing at FILE is replaced, never written through.
func TestExportReplacesASymlink(t *testing.T) {
	s, ios, c := newServer(t)
	s.Mux.HandleFunc("GET /1.0/instances/{name}/export", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(tarball)
	})
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.tar.gz")
	if err := os.Symlink(victim, out); err != nil {
		t.Fatal(err)
	}
	if err := RunExport(t.Context(), &ExportOptions{IO: ios, Client: c, Name: "c1", File: out}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	if st, err := os.Lstat(out); err != nil || !st.Mode().IsRegular() {
		t.Errorf("%s is not a regular file after export: %v %v", out, st, err)
	}
	if got := s.CallLog(); got != "GET /1.0/instances/c1/export" {
		t.Errorf("calls = %q", got)
	}
}

// TestExportFailureLeavesNothing: a refused export and one cut short both fail and leave no
// file, not even a partial one.
func TestExportFailureLeavesNothing(t *testing.T) {
	s, ios, c := newServer(t)
	s.Mux.HandleFunc("GET /1.0/instances/ghost/export", func(w http.ResponseWriter, _ *http.Request) {
		clitest.Fail(w, http.StatusNotFound, "Instance not found")
	})
	s.Mux.HandleFunc("GET /1.0/instances/c1/export", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(2*len(tarball)))
		_, _ = w.Write(tarball) // then the connection ends: half a backup
	})
	dir := t.TempDir()
	err := RunExport(t.Context(), &ExportOptions{IO: ios, Client: c, Name: "ghost", File: filepath.Join(dir, "g.tar.gz")})
	if !errors.Is(err, api.ErrNotFound) {
		t.Errorf("export of a missing instance: %v, want ErrNotFound", err)
	}
	err = RunExport(t.Context(), &ExportOptions{IO: ios, Client: c, Name: "c1", File: filepath.Join(dir, "c1.tar.gz")})
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("export cut short: %v, want an unexpected EOF", err)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("files left after failed exports: %v", got)
	}
}

func TestImportUploadsAndWaits(t *testing.T) {
	s, ios, c := newServer(t)
	var body []byte
	var ctype, name string
	s.Mux.HandleFunc("POST /1.0/instances", func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		ctype, name = r.Header.Get("Content-Type"), r.Header.Get("X-LXD-name")
		s.Async(w, api.Operation{Resources: map[string][]string{"instances": {"/1.0/instances/restored"}}})
	})
	file := filepath.Join(t.TempDir(), "b.tar.gz")
	if err := os.WriteFile(file, tarball, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := RunImport(t.Context(), &ImportOptions{IO: ios, Client: c, File: file, Name: "restored"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, tarball) || ctype != "application/octet-stream" || name != "restored" {
		t.Errorf("upload: %d bytes, Content-Type %q, X-LXD-name %q", len(body), ctype, name)
	}
	if got := s.CallLog(); got != "POST /1.0/instances" {
		t.Errorf("calls = %q", got)
	}
}

func TestImportErrors(t *testing.T) {
	s, ios, c := newServer(t)
	s.Mux.HandleFunc("POST /1.0/instances", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.Async(w, api.Operation{StatusCode: api.Failure, Err: "backup.yaml: invalid instance name"})
	})
	err := RunImport(t.Context(), &ImportOptions{IO: ios, Client: c, File: filepath.Join(t.TempDir(), "missing.tar.gz")})
	if !errors.Is(err, os.ErrNotExist) || s.CallLog() != "" {
		t.Errorf("import of a missing file: %v, calls %q; want ErrNotExist and no request", err, s.CallLog())
	}
	file := filepath.Join(t.TempDir(), "b.tar.gz")
	if err := os.WriteFile(file, tarball, 0o600); err != nil {
		t.Fatal(err)
	}
	err = RunImport(t.Context(), &ImportOptions{IO: ios, Client: c, File: file})
	if err == nil || err.Error() != "backup.yaml: invalid instance name" {
		t.Errorf("failed import: %v, want the operation's error", err)
	}
}

// TestCommandsParseArguments: the commands fill their options from the arguments.
func TestCommandsParseArguments(t *testing.T) {
	ios, _, _ := cli.TestIO("")
	f := &cli.Factory{IO: ios}
	var exp *ExportOptions
	cmd := NewCmdExport(f, func(_ context.Context, o *ExportOptions) error { exp = o; return nil })
	cmd.SetArgs([]string{"c1", "out.tar.gz", "--instance-only"})
	if err := cmd.Execute(); err != nil || exp.Name != "c1" || exp.File != "out.tar.gz" || !exp.InstanceOnly {
		t.Errorf("export options %+v, err %v", exp, err)
	}
	var imp *ImportOptions
	cmd = NewCmdImport(f, func(_ context.Context, o *ImportOptions) error { imp = o; return nil })
	cmd.SetArgs([]string{"b.tar.gz", "c2"})
	if err := cmd.Execute(); err != nil || imp.File != "b.tar.gz" || imp.Name != "c2" {
		t.Errorf("import options %+v, err %v", imp, err)
	}
}
