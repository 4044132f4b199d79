package server

import (
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"lite/client/api"
	"lite/lxd-lite/imagesvc"
	"lite/lxd-lite/operations"
)

// rawBody lists the endpoints whose body is streamed (image uploads), not bounded by maxBody.
var rawBody = map[string]bool{"POST /1.0/images": true}

// createImage is POST /1.0/images: a JSON body publishes an instance (or pulls from a
// remote); any other body is an upload, unified (the file itself) or split (multipart parts
// "metadata" then "rootfs"). Uploads are streamed to files under the daemon's tmp dir, never
// held in memory, and imported by an operation whose metadata ends with the fingerprint and
// size.
func createImage(s *Server, r *http.Request) Response {
	ctype, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ctype == "application/json" {
		r.Body = io.NopCloser(io.LimitReader(r.Body, maxBody))
		var req api.ImagesPost
		if err := decode(r, &req); err != nil {
			return Error(err)
		}
		return createImageFromSource(s, req)
	}
	opts, err := uploadOptions(r.Header)
	if err != nil {
		return Error(err)
	}
	if err := os.MkdirAll(s.Images.TmpDir, 0o700); err != nil {
		return Error(err)
	}
	dir, err := os.MkdirTemp(s.Images.TmpDir, "upload-")
	if err != nil {
		return Error(err)
	}
	var files []string
	if ctype == "multipart/form-data" {
		files, err = receiveSplit(r.Body, params["boundary"], dir, &opts)
	} else {
		files, err = receiveUnified(r.Body, dir)
	}
	if err != nil {
		os.RemoveAll(dir)
		return Error(err)
	}
	op := s.Ops.Start(operations.Spec{
		Description: "Downloading image",
		Resources:   map[string][]string{"images": {}},
		Run: func(ctx context.Context, op *operations.Op) error {
			defer os.RemoveAll(dir)
			img, err := s.Images.Import(ctx, files, opts, func(msg string) { op.Progress("progress", msg) })
			if err != nil {
				return err
			}
			op.UpdateMetadata(map[string]any{"fingerprint": img.Fingerprint, "size": strconv.FormatInt(img.Size, 10)})
			return nil
		},
	})
	return Async(op)
}

// uploadOptions reads LXD's X-LXD-* upload headers.
func uploadOptions(h http.Header) (imagesvc.ImportOptions, error) {
	o := imagesvc.ImportOptions{Filename: filepath.Base(h.Get("X-LXD-filename")), Properties: map[string]string{}}
	if o.Filename == "." || o.Filename == "/" {
		o.Filename = ""
	}
	if v := h.Get("X-LXD-public"); v != "" {
		o.Public = v == "1" || strings.EqualFold(v, "true")
	}
	if v := h.Get("X-LXD-properties"); v != "" {
		q, err := url.ParseQuery(v)
		if err != nil {
			return o, fmt.Errorf("bad X-LXD-properties header: %v: %w", err, api.ErrInvalid)
		}
		for k := range q {
			o.Properties[k] = q.Get(k)
		}
	}
	o.Fingerprint = strings.ToLower(h.Get("X-LXD-fingerprint"))
	return o, nil
}

// receiveUnified streams the body to dir/image.
func receiveUnified(body io.Reader, dir string) ([]string, error) {
	p := filepath.Join(dir, "image")
	if err := saveStream(body, p); err != nil {
		return nil, err
	}
	return []string{p}, nil
}

// receiveSplit streams the parts "metadata" then "rootfs" to files in dir.
func receiveSplit(body io.Reader, boundary, dir string, o *imagesvc.ImportOptions) ([]string, error) {
	if boundary == "" {
		return nil, fmt.Errorf("multipart upload without boundary: %w", api.ErrInvalid)
	}
	mr := multipart.NewReader(body, boundary)
	var files []string
	for _, want := range []string{"metadata", "rootfs"} {
		part, err := mr.NextPart()
		if err != nil {
			return nil, fmt.Errorf("split upload: missing part %q: %v: %w", want, err, api.ErrInvalid)
		}
		if part.FormName() != want {
			return nil, fmt.Errorf("split upload: part %q where %q was expected (rootfs.img is a VM image, which lite does not run): %w", part.FormName(), want, api.ErrInvalid)
		}
		if want == "metadata" && o.Filename == "" {
			o.Filename = filepath.Base(part.FileName())
		}
		p := filepath.Join(dir, want)
		if err := saveStream(part, p); err != nil {
			return nil, err
		}
		files = append(files, p)
	}
	if _, err := mr.NextPart(); err != io.EOF {
		return nil, fmt.Errorf("split upload: unexpected part after rootfs: %w", api.ErrInvalid)
	}
	return files, nil
}

// saveStream copies r into a new file at p.
func saveStream(r io.Reader, p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("receive image: %v: %w", err, api.ErrInvalid)
	}
	if n == 0 {
		return fmt.Errorf("empty image upload: %w", api.ErrInvalid)
	}
	return nil
}

// createImageFromSource handles the JSON forms of POST /1.0/images.
func createImageFromSource(s *Server, req api.ImagesPost) Response {
	if req.Source == nil {
		return Errorf(api.ErrInvalid, "no image source given")
	}
	switch req.Source.Type {
	case "instance", "container":
	case "snapshot":
		return Errorf(api.ErrInvalid, "publishing snapshots is not supported yet: publish the stopped instance")
	case "image":
		return pullImage(s, req)
	case "build":
		return buildImage(s, req)
	default:
		return Errorf(api.ErrInvalid, "image source type %q is not supported", req.Source.Type)
	}
	name := req.Source.Name
	if _, err := s.Instances.Get(context.Background(), name); err != nil {
		return Error(err)
	}
	if err := s.Images.CheckAliasesFree(context.Background(), req.Aliases); err != nil {
		return Error(err)
	}
	op := s.Ops.Start(operations.Spec{
		Description: "Publishing instance",
		Resources:   map[string][]string{"instances": {"/1.0/instances/" + name}},
		Run: func(ctx context.Context, op *operations.Op) error {
			img, err := s.Images.Publish(ctx, s.Files, name, imagesvc.PublishOptions{
				Properties: req.Properties, Aliases: req.Aliases, Public: req.Public, Filename: req.Filename,
			}, func(msg string) { op.Progress("progress", msg) })
			if err != nil {
				return err
			}
			op.UpdateMetadata(map[string]any{"fingerprint": img.Fingerprint, "size": strconv.FormatInt(img.Size, 10)})
			return nil
		},
	})
	return Async(op)
}

// pullImage is POST /1.0/images with source type image: a server-side pull from a
// simplestreams server.
func pullImage(s *Server, req api.ImagesPost) Response {
	src := req.Source
	if src.Server == "" {
		return Errorf(api.ErrInvalid, "image source without a server: name the image server (source.server)")
	}
	name := src.Alias
	if name == "" {
		name = src.Fingerprint
	}
	if name == "" {
		return Errorf(api.ErrInvalid, "image source names no alias or fingerprint")
	}
	if err := s.Images.CheckAliasesFree(context.Background(), req.Aliases); err != nil {
		return Error(err)
	}
	op := s.Ops.Start(operations.Spec{
		Description: "Downloading image",
		Resources:   map[string][]string{"images": {}},
		Run: func(ctx context.Context, op *operations.Op) error {
			img, err := s.Images.Pull(ctx, imagesvc.PullOptions{Server: src.Server, Protocol: src.Protocol, Name: name, Aliases: req.Aliases},
				func(msg string) { op.Progress("download_progress", msg) })
			if err != nil {
				return err
			}
			op.UpdateMetadata(map[string]any{"fingerprint": img.Fingerprint, "size": strconv.FormatInt(img.Size, 10)})
			return nil
		},
	})
	return Async(op)
}

// buildImage is POST /1.0/images with source type "build" (lite's extension): build a recipe
// with debootstrap, reporting its progress.
func buildImage(s *Server, req api.ImagesPost) Response {
	src := req.Source
	if err := s.Images.CheckAliasesFree(context.Background(), req.Aliases); err != nil {
		return Error(err)
	}
	op := s.Ops.Start(operations.Spec{
		Description: "Building image",
		Resources:   map[string][]string{"images": {}},
		Run: func(ctx context.Context, op *operations.Op) error {
			img, err := s.Images.Build(ctx, imagesvc.BuildOptions{Recipe: src.Alias, Mirror: src.Mirror, Include: src.Include, Aliases: req.Aliases},
				func(msg string) { op.Progress("build_progress", msg) })
			if err != nil {
				return err
			}
			op.UpdateMetadata(map[string]any{"fingerprint": img.Fingerprint, "size": strconv.FormatInt(img.Size, 10)})
			return nil
		},
	})
	return Async(op)
}
