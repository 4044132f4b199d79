package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"lite/client/api"
)

// FileInfo is what the X-LXD-* headers of a file reply say, in the container's ids.
type FileInfo struct {
	Type     string // file, directory or symlink
	UID, GID int64
	Mode     int64
	Entries  []string // a directory's names
}

// FileArgs describes a file to write. UID, GID and Mode < 0 leave the server's default.
type FileArgs struct {
	Type     string // file (default), directory or symlink
	UID, GID int64
	Mode     int64
	Append   bool
	Content  io.Reader // a file's content or a symlink's target
}

func (c *Client) fileURL(name, path string) string {
	return endpoint("http", apiPath("/1.0/instances", name)+"/files", url.Values{"path": {path}})
}

// GetInstanceFile reads a file, symlink (its target) or directory (Entries) of an instance.
// For a file or symlink the caller reads and closes the returned body.
func (c *Client) GetInstanceFile(ctx context.Context, name, path string) (io.ReadCloser, *FileInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.fileURL(name, path), nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	info := &FileInfo{Type: resp.Header.Get("X-LXD-type")}
	info.UID, _ = strconv.ParseInt(resp.Header.Get("X-LXD-uid"), 10, 64)
	info.GID, _ = strconv.ParseInt(resp.Header.Get("X-LXD-gid"), 10, 64)
	info.Mode, _ = strconv.ParseInt(resp.Header.Get("X-LXD-mode"), 8, 64)
	if resp.StatusCode != http.StatusOK || info.Type == "directory" || info.Type == "" {
		defer func() { _ = resp.Body.Close() }()
		env, err := parseResponse(resp)
		if err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal(env.Metadata, &info.Entries); err != nil {
			return nil, nil, fmt.Errorf("decode directory %s: %w", path, err)
		}
		return nil, info, nil
	}
	return resp.Body, info, nil
}

// CreateInstanceFile writes a file, directory or symlink into an instance.
func (c *Client) CreateInstanceFile(ctx context.Context, name, path string, args FileArgs) error {
	body := args.Content
	if body == nil {
		body = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.fileURL(name, path), body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if args.Type != "" {
		req.Header.Set("X-LXD-type", args.Type)
	}
	if args.UID >= 0 {
		req.Header.Set("X-LXD-uid", strconv.FormatInt(args.UID, 10))
	}
	if args.GID >= 0 {
		req.Header.Set("X-LXD-gid", strconv.FormatInt(args.GID, 10))
	}
	if args.Mode >= 0 {
		req.Header.Set("X-LXD-mode", fmt.Sprintf("%04o", args.Mode))
	}
	if args.Append {
		req.Header.Set("X-LXD-write", "append")
	} else {
		req.Header.Set("X-LXD-write", "overwrite")
	}
	return c.fileRequest(req)
}

// DeleteInstanceFile removes a file, symlink or empty directory of an instance.
func (c *Client) DeleteInstanceFile(ctx context.Context, name, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.fileURL(name, path), nil)
	if err != nil {
		return err
	}
	return c.fileRequest(req)
}

func (c *Client) fileRequest(req *http.Request) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	env, err := parseResponse(resp)
	if err != nil {
		return err
	}
	if env.Type == api.ErrorResponse {
		return api.NewStatusError(env.ErrorCode, env.ErrorKind, env.Error)
	}
	return nil
}
