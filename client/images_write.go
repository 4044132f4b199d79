package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"lite/client/api"
	"lite/client/localfs"
)

// ImageUpload is an image file (unified) or pair of files (split) to upload.
type ImageUpload struct {
	Meta   string // the unified image, or the metadata tarball of a split one
	Rootfs string // the rootfs file of a split image; "" for unified
	// Properties override the image's metadata properties (X-LXD-properties).
	Properties map[string]string
	Public     bool
}

// CreateImage uploads an image (POST /1.0/images), streamed from its files. The operation's
// final metadata holds "fingerprint" and "size".
func (c *Client) CreateImage(ctx context.Context, up ImageUpload) (*Operation, error) {
	meta, err := os.Open(up.Meta)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("X-LXD-filename", filepath.Base(up.Meta))
	if up.Public {
		h.Set("X-LXD-public", "1")
	}
	if len(up.Properties) > 0 {
		q := url.Values{}
		for k, v := range up.Properties {
			q.Set(k, v)
		}
		h.Set("X-LXD-properties", q.Encode())
	}
	if up.Rootfs == "" {
		defer meta.Close()
		h.Set("Content-Type", "application/octet-stream")
		return c.rawOperation(ctx, http.MethodPost, "/1.0/images", meta, h)
	}
	rootfs, err := os.Open(up.Rootfs)
	if err != nil {
		meta.Close()
		return nil, err
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		defer meta.Close()
		defer rootfs.Close()
		err := func() error {
			for _, p := range []struct {
				field string
				f     *os.File
			}{{"metadata", meta}, {"rootfs", rootfs}} {
				w, err := mw.CreateFormFile(p.field, filepath.Base(p.f.Name()))
				if err != nil {
					return err
				}
				if _, err := io.Copy(w, p.f); err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	h.Set("Content-Type", mw.FormDataContentType())
	return c.rawOperation(ctx, http.MethodPost, "/1.0/images", pr, h)
}

// rawOperation sends a non-JSON body and returns the operation the server started.
func (c *Client) rawOperation(ctx context.Context, method, path string, body io.Reader, h http.Header) (*Operation, error) {
	req, err := http.NewRequestWithContext(ctx, method, endpoint("http", path, nil), body)
	if err != nil {
		return nil, err
	}
	req.Header = h
	resp, err := c.http.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	env, err := parseResponse(resp)
	if err != nil {
		return nil, err
	}
	var op api.Operation
	if err := json.Unmarshal(env.Metadata, &op); err != nil || op.ID == "" {
		return nil, fmt.Errorf("%s %s: expected an operation", method, path)
	}
	return &Operation{c: c, op: op}, nil
}

// CreateImageFromSource publishes an instance or pulls an image (POST /1.0/images, JSON).
func (c *Client) CreateImageFromSource(ctx context.Context, req api.ImagesPost) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodPost, path: "/1.0/images", body: req})
}

// DeleteImage deletes an image by fingerprint or unique prefix.
func (c *Client) DeleteImage(ctx context.Context, fp string) (*Operation, error) {
	return c.operation(ctx, request{method: http.MethodDelete, path: apiPath("/1.0/images", fp)})
}

// UpdateImage replaces an image's writable fields.
func (c *Client) UpdateImage(ctx context.Context, fp string, put api.ImagePut) error {
	_, err := c.do(ctx, request{method: http.MethodPut, path: apiPath("/1.0/images", fp), body: put})
	return err
}

// ExportImage writes an image's files and returns their paths (one for unified, metadata
// then rootfs for split). As LXD's client does: when target is a directory the files are
// named as the server names them; otherwise target is the file to write, a unified image
// getting the server's extension (out -> out.tar.gz), a split one written as target and
// target.root.
func (c *Client) ExportImage(ctx context.Context, fp, target string) (out []string, err error) {
	dir, base := target, ""
	if st, serr := os.Stat(target); serr != nil || !st.IsDir() {
		dir, base = filepath.Dir(target), filepath.Base(target)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint("http", apiPath("/1.0/images", fp)+"/export", nil), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, err := parseResponse(resp)
		if err == nil {
			err = fmt.Errorf("export %s: %s", fp, resp.Status)
		}
		return nil, err
	}
	ctype, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err == nil && strings.HasPrefix(ctype, "multipart/") {
		defer func() {
			if err != nil { // a split export is whole or absent
				for _, p := range out {
					os.Remove(p)
				}
			}
		}()
		mr := multipart.NewReader(resp.Body, params["boundary"])
		for i := 0; ; i++ {
			part, err := mr.NextPart()
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return out, fmt.Errorf("export %s: %w", fp, err)
			}
			name := part.FileName()
			if base != "" {
				name = base
				if i > 0 {
					name = base + ".root"
				}
			}
			p, err := saveAs(dir, name, part)
			if err != nil {
				return out, err
			}
			out = append(out, p)
		}
	}
	_, params, err = mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	if err != nil || params["filename"] == "" {
		return nil, fmt.Errorf("export %s: no filename in Content-Disposition header", fp)
	}
	name := params["filename"]
	if base != "" {
		name = base
		if _, ext, ok := strings.Cut(params["filename"], "."); ok && ext != "" {
			name = base + "." + ext
		}
	}
	p, err := saveAs(dir, name, resp.Body)
	if err != nil {
		return nil, err
	}
	return []string{p}, nil
}

// saveAs writes r to dir/name, refusing names that are not plain file names.
func saveAs(dir, name string, r io.Reader) (string, error) {
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
		return "", fmt.Errorf("export: bad file name %q from server", name)
	}
	p := filepath.Join(dir, name)
	d, err := localfs.OpenDir(dir)
	if err != nil {
		return "", err
	}
	defer d.Close()
	// A fresh name renamed into place: a symlink already standing at p is replaced, never
	// written through.
	if err := d.WriteFile(name, 0o644, r); err != nil {
		return "", fmt.Errorf("export: %w", err)
	}
	return p, nil
}

// GetImageAliases returns every alias.
func (c *Client) GetImageAliases(ctx context.Context) ([]api.ImageAliasesEntry, error) {
	var list []api.ImageAliasesEntry
	if err := c.get(ctx, "/1.0/images/aliases", url.Values{"recursion": {"1"}}, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// CreateImageAlias adds an alias; Target may be a unique fingerprint prefix.
func (c *Client) CreateImageAlias(ctx context.Context, a api.ImageAliasesPost) error {
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/1.0/images/aliases", body: a})
	return err
}

// UpdateImageAlias points an alias elsewhere.
func (c *Client) UpdateImageAlias(ctx context.Context, name string, put api.ImageAliasesEntryPut) error {
	_, err := c.do(ctx, request{method: http.MethodPut, path: apiPath("/1.0/images/aliases", name), body: put})
	return err
}

// RenameImageAlias renames an alias.
func (c *Client) RenameImageAlias(ctx context.Context, name, to string) error {
	_, err := c.do(ctx, request{method: http.MethodPost, path: apiPath("/1.0/images/aliases", name), body: api.ImageAliasesEntryPost{Name: to}})
	return err
}

// DeleteImageAlias deletes an alias.
func (c *Client) DeleteImageAlias(ctx context.Context, name string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: apiPath("/1.0/images/aliases", name)})
	return err
}
