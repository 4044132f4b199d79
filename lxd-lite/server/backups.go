package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"lite/lxd-lite/instance"
	"lite/lxd-lite/operations"
)

// backupEndpoints: GET .../export streams a backup tarball (a lite shortcut for LXD's
// create-backup-then-export pair); POST /1.0/instances with an application/octet-stream body
// imports one, as in LXD (the new name in X-LXD-name).
var backupEndpoints = []endpoint{
	{"GET /1.0/instances/{name}/export", exportInstance},
}

func exportInstance(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	if _, err := s.Instances.Get(r.Context(), name); err != nil {
		return Error(err)
	}
	q := r.URL.Query()
	opts := instance.ExportOptions{InstanceOnly: q.Get("instance_only") == "true", Layers: q.Get("layers") == "writable"}
	return Manual(func(w http.ResponseWriter) error {
		// Export packs everything before it writes: an error until then is a proper error
		// reply; one after the first byte can only cut the stream short.
		sw := &startWriter{w: w}
		err := s.Backups.Export(r.Context(), name, opts, sw)
		if err != nil && !sw.started {
			return Error(err).Render(w)
		}
		return err
	})
}

// startWriter sends the reply's headers with its first byte.
type startWriter struct {
	w       http.ResponseWriter
	started bool
}

func (s *startWriter) Write(p []byte) (int, error) {
	if !s.started {
		s.started = true
		s.w.Header().Set("Content-Type", "application/octet-stream")
	}
	return s.w.Write(p)
}

// importInstance saves the uploaded backup, then imports it in an operation.
func importInstance(s *Server, r *http.Request) Response {
	name := r.Header.Get("X-LXD-name")
	if name != "" {
		if err := s.Instances.CheckNewName(r.Context(), name, ""); err != nil {
			return Error(err)
		}
	}
	// Under the containers dir with a dot name: a crash leaves a directory without a row,
	// which the next start removes.
	dir, err := os.MkdirTemp(filepath.Dir(s.Instances.Dir("x")), ".tmp-upload-")
	if err != nil {
		return Error(fmt.Errorf("create upload dir: %w", err))
	}
	path := filepath.Join(dir, "backup.tar")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		_, err = io.Copy(f, r.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return Error(fmt.Errorf("receive backup: %w", err))
	}
	op := s.Ops.Start(operations.Spec{
		Description: "Importing instance",
		Resources:   map[string][]string{"instances": {instance.URL(name)}},
		Run: func(ctx context.Context, op *operations.Op) error {
			defer os.RemoveAll(dir)
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			created, err := s.Backups.Import(ctx, f, name)
			if err == nil {
				op.SetResources(map[string][]string{"instances": {instance.URL(created)}})
			}
			return err
		},
	})
	return Async(op)
}
