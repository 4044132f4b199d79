package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"lite/client/api"
	"lite/lxd-lite/files"
	"lite/lxd-lite/idmap"
)

// fileEndpoints are LXD's file transfer API: GET reads a file (raw body), a directory (JSON
// list of names) or a symlink (its target as body); POST writes; DELETE removes. Owners and
// mode travel in X-LXD-uid/gid/mode headers, in the container's ids.
var fileEndpoints = []endpoint{
	{"GET /1.0/instances/{name}/files", getFile},
	{"POST /1.0/instances/{name}/files", putFile},
	{"DELETE /1.0/instances/{name}/files", deleteFile},
}

// streamingBody reports whether a request body is streamed by its handler (file uploads,
// backups) rather than decoded as bounded JSON.
func streamingBody(r *http.Request) bool {
	return r.Header.Get("Content-Type") == "application/octet-stream"
}

// withRoot opens the instance's root and runs fn on it.
func withRoot(s *Server, r *http.Request, fn func(root *files.Root) error) error {
	return s.Files.Rootfs(r.Context(), r.PathValue("name"), func(dir string, im *idmap.Map) error {
		root, err := files.Open(dir, im)
		if err != nil {
			return err
		}
		defer root.Close()
		return fn(root)
	})
}

func filePath(r *http.Request) (string, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return "", fmt.Errorf("missing ?path=: %w", api.ErrInvalid)
	}
	// LXD resolves a relative path from the container's root (lxc file pull c1/root/f sends
	// "root/f"); the files package then confines it to the root as for any path.
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p, nil
}

func setFileHeaders(w http.ResponseWriter, in files.Info) {
	w.Header().Set("X-LXD-uid", strconv.FormatInt(in.UID, 10))
	w.Header().Set("X-LXD-gid", strconv.FormatInt(in.GID, 10))
	w.Header().Set("X-LXD-mode", fmt.Sprintf("%04o", in.Mode))
	w.Header().Set("X-LXD-type", in.Type)
	w.Header().Set("X-LXD-modified", in.Modified.UTC().Format(http.TimeFormat))
}

// getFile streams inside the root callback, so a stopped container's mount stays up until
// the file is sent.
func getFile(s *Server, r *http.Request) Response {
	p, err := filePath(r)
	if err != nil {
		return Error(err)
	}
	return Manual(func(w http.ResponseWriter) error {
		err := withRoot(s, r, func(root *files.Root) error {
			e, err := root.Get(p)
			if err != nil {
				return err
			}
			if e.Type == files.TypeDirectory {
				setFileHeaders(w, e.Info)
				return Sync(e.Names).Render(w)
			}
			setFileHeaders(w, e.Info)
			w.Header().Set("Content-Type", "application/octet-stream")
			if e.Type == files.TypeSymlink {
				_, err := io.WriteString(w, e.Target)
				return err
			}
			defer e.File.Close()
			w.Header().Set("Content-Length", strconv.FormatInt(e.Size, 10))
			_, err = io.Copy(w, io.LimitReader(e.File, e.Size))
			return errSent{err}
		})
		var sent errSent
		if errors.As(err, &sent) {
			return sent.err
		}
		if err != nil {
			return Error(err).Render(w)
		}
		return nil
	})
}

// errSent marks an error met after the reply started: it can only be logged.
type errSent struct{ err error }

func (e errSent) Error() string { return fmt.Sprint(e.err) }

// fileHeaders reads X-LXD-uid/gid/mode/type/write; an absent or -1 id or mode is unset.
func fileHeaders(h http.Header) (files.PutOptions, error) {
	opts := files.PutOptions{UID: -1, GID: -1, Mode: -1, Type: h.Get("X-LXD-type")}
	for _, f := range []struct {
		key  string
		base int
		dst  *int64
	}{{"X-LXD-uid", 10, &opts.UID}, {"X-LXD-gid", 10, &opts.GID}, {"X-LXD-mode", 8, &opts.Mode}} {
		v := strings.TrimSpace(h.Get(f.key))
		if v == "" || v == "-1" {
			continue
		}
		n, err := strconv.ParseInt(v, f.base, 64)
		if err != nil || n < 0 || (f.key == "X-LXD-mode" && n > 0o7777) {
			return opts, fmt.Errorf("invalid %s header %q: %w", f.key, v, api.ErrInvalid)
		}
		*f.dst = n
	}
	switch h.Get("X-LXD-write") {
	case "", "overwrite":
	case "append":
		opts.Append = true
	default:
		return opts, fmt.Errorf("invalid X-LXD-write header %q (use overwrite or append): %w", h.Get("X-LXD-write"), api.ErrInvalid)
	}
	return opts, nil
}

func putFile(s *Server, r *http.Request) Response {
	p, err := filePath(r)
	if err != nil {
		return Error(err)
	}
	opts, err := fileHeaders(r.Header)
	if err != nil {
		return Error(err)
	}
	err = withRoot(s, r, func(root *files.Root) error { return root.Put(p, opts, r.Body) })
	if err != nil {
		return Error(err)
	}
	return EmptySync()
}

func deleteFile(s *Server, r *http.Request) Response {
	p, err := filePath(r)
	if err != nil {
		return Error(err)
	}
	if err := withRoot(s, r, func(root *files.Root) error { return root.Delete(p) }); err != nil {
		return Error(err)
	}
	return EmptySync()
}
