package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"lite/client/api"
	"lite/lxd-lite/operations"
)

// putImage replaces an image's writable fields.
func putImage(s *Server, r *http.Request) Response {
	return editImage(s, r, false)
}

// patchImage changes the writable fields the request names.
func patchImage(s *Server, r *http.Request) Response {
	return editImage(s, r, true)
}

func editImage(s *Server, r *http.Request, patch bool) Response {
	img, err := s.Images.Get(r.Context(), r.PathValue("fp"))
	if err != nil {
		return Error(err)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return Errorf(api.ErrInvalid, "read request body: %v", err)
	}
	cur := ImageToAPI(img).ImagePut
	req := cur
	if !patch {
		req = api.ImagePut{}
	}
	if err := json.Unmarshal(b, &req); err != nil {
		return Errorf(api.ErrInvalid, "bad JSON in request body: %v", err)
	}
	if patch {
		// A PATCH's properties add to the current ones, as in LXD.
		var keys struct {
			Properties map[string]string `json:"properties"`
		}
		_ = json.Unmarshal(b, &keys)
		req.Properties = img.Properties
		for k, v := range keys.Properties {
			req.Properties[k] = v
		}
	}
	if err := s.Images.Update(r.Context(), img.Fingerprint, req); err != nil {
		return Error(err)
	}
	return EmptySync()
}

// deleteImage removes an image (async, as in LXD); see imagesvc.Service.Delete for why an
// image in use is refused.
func deleteImage(s *Server, r *http.Request) Response {
	img, err := s.Images.CheckDeletable(r.Context(), r.PathValue("fp"))
	if err != nil {
		return Error(err)
	}
	op := s.Ops.Start(operations.Spec{
		Description: "Deleting image",
		Resources:   map[string][]string{"images": {"/1.0/images/" + img.Fingerprint}},
		Run: func(ctx context.Context, _ *operations.Op) error {
			return s.Images.Delete(ctx, img.Fingerprint)
		},
	})
	return Async(op)
}

// exportImage sends the stored files byte for byte: a unified image as the body with a
// Content-Disposition filename, a split one as multipart parts "metadata" and "rootfs".
func exportImage(s *Server, r *http.Request) Response {
	img, err := s.Images.Get(r.Context(), r.PathValue("fp"))
	if err != nil {
		return Error(err)
	}
	files, err := s.Images.Store.Files(img.Fingerprint)
	if err != nil {
		return Error(fmt.Errorf("image %s: files missing from the store: %w", img.Fingerprint, api.ErrNotFound))
	}
	fp := img.Fingerprint
	if len(files) == 1 {
		return Manual(func(w http.ResponseWriter) error {
			f, err := os.Open(files[0])
			if err != nil {
				return Error(err).Render(w)
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return Error(err).Render(w)
			}
			ext := strings.TrimPrefix(filepath.Base(files[0]), "image")
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
			w.Header().Set("Content-Disposition", "attachment; filename="+fp+ext)
			http.ServeContent(w, r, fp+ext, time.Time{}, f)
			return nil
		})
	}
	return Manual(func(w http.ResponseWriter) error {
		mw := multipart.NewWriter(w)
		w.Header().Set("Content-Type", mw.FormDataContentType())
		w.WriteHeader(http.StatusOK)
		names := []string{"meta-" + fp + strings.TrimPrefix(filepath.Base(files[0]), "meta"),
			fp + strings.TrimPrefix(filepath.Base(files[1]), "rootfs")}
		for i, field := range []string{"metadata", "rootfs"} {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, field, names[i]))
			h.Set("Content-Type", "application/octet-stream")
			pw, err := mw.CreatePart(h)
			if err != nil {
				return err
			}
			f, err := os.Open(files[i])
			if err != nil {
				return err
			}
			_, err = io.Copy(pw, f)
			f.Close()
			if err != nil {
				return err
			}
		}
		return mw.Close()
	})
}

// createAlias is POST /1.0/images/aliases; target may be a unique fingerprint prefix.
func createAlias(s *Server, r *http.Request) Response {
	var req api.ImageAliasesPost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if err := s.Images.CreateAlias(r.Context(), req.Name, req.Description, req.Target); err != nil {
		return Error(err)
	}
	return Created("/1.0/images/aliases/" + req.Name)
}

func putAlias(s *Server, r *http.Request) Response   { return editAlias(s, r, false) }
func patchAlias(s *Server, r *http.Request) Response { return editAlias(s, r, true) }

func editAlias(s *Server, r *http.Request, patch bool) Response {
	name := r.PathValue("name")
	a, err := s.Images.Alias(r.Context(), name)
	if err != nil {
		return Error(err)
	}
	req := api.ImageAliasesEntryPut{}
	if patch {
		req = api.ImageAliasesEntryPut{Description: a.Description, Target: a.Target}
	}
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if err := s.Images.UpdateAlias(r.Context(), name, req.Description, req.Target); err != nil {
		return Error(err)
	}
	return EmptySync()
}

// renameAlias is POST /1.0/images/aliases/{name} {"name": new}.
func renameAlias(s *Server, r *http.Request) Response {
	var req api.ImageAliasesEntryPost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if err := s.Images.RenameAlias(r.Context(), r.PathValue("name"), req.Name); err != nil {
		return Error(err)
	}
	return Created("/1.0/images/aliases/" + req.Name)
}

func deleteAlias(s *Server, r *http.Request) Response {
	if err := s.Images.DeleteAlias(r.Context(), r.PathValue("name")); err != nil {
		return Error(err)
	}
	return EmptySync()
}
