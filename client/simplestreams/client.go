package simplestreams

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"lite/client/osarch"
)

// maxIndexSize bounds the JSON files read from a server.
const maxIndexSize = 64 << 20

// Client reads one simplestreams server.
type Client struct {
	// URL is the server's base URL (http:// or https://).
	URL string
	// HTTP is the client used; nil means http.DefaultClient.
	HTTP *http.Client
	// CacheDir, if set, keeps the index and products files for CacheTTL (default 1 h).
	CacheDir string
	CacheTTL time.Duration
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// get fetches a file relative to the base URL.
func (c *Client) get(ctx context.Context, rel string) (*http.Response, error) {
	u := strings.TrimRight(c.URL, "/") + "/" + strings.TrimLeft(rel, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("image server %s: %w", c.URL, err)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("image server %s: %w", c.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("image server %s: GET %s: %s", c.URL, rel, resp.Status)
	}
	return resp, nil
}

// getJSON fetches and decodes a JSON file, through the cache.
func (c *Client) getJSON(ctx context.Context, rel string, v any) error {
	var cache string
	if c.CacheDir != "" {
		sum := sha256.Sum256([]byte(strings.TrimRight(c.URL, "/") + "/" + rel))
		cache = filepath.Join(c.CacheDir, hex.EncodeToString(sum[:8])+".json")
		ttl := c.CacheTTL
		if ttl == 0 {
			ttl = time.Hour
		}
		if st, err := os.Stat(cache); err == nil && time.Since(st.ModTime()) < ttl {
			if b, err := os.ReadFile(cache); err == nil && json.Unmarshal(b, v) == nil {
				return nil
			}
		}
	}
	resp, err := c.get(ctx, rel)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxIndexSize+1))
	if err != nil {
		return fmt.Errorf("image server %s: read %s: %w", c.URL, rel, err)
	}
	if len(b) > maxIndexSize {
		return fmt.Errorf("image server %s: %s is too large: %w", c.URL, rel, ErrInvalid)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("image server %s: %s: %v: %w", c.URL, rel, err, ErrInvalid)
	}
	if cache != "" {
		if err := os.MkdirAll(c.CacheDir, 0o700); err == nil {
			tmp := cache + ".tmp"
			if os.WriteFile(tmp, b, 0o600) == nil {
				_ = os.Rename(tmp, cache)
			}
		}
	}
	return nil
}

// Images returns every container image the server offers, newest first per product.
func (c *Client) Images(ctx context.Context) ([]Image, error) {
	var idx Index
	if err := c.getJSON(ctx, "streams/v1/index.json", &idx); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(idx.Index))
	for k := range idx.Index {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Image
	for _, k := range keys {
		e := idx.Index[k]
		if e.DataType != "image-downloads" || len(e.Products) == 0 || e.Path == "" {
			continue
		}
		var p Products
		if err := c.getJSON(ctx, e.Path, &p); err != nil {
			return nil, err
		}
		out = append(out, p.images()...)
	}
	return out, nil
}

// images lists the container images of a products file, sorted as LXD sorts them: by os,
// release, variant, then newest serial first, squashfs before root.tar.xz.
func (p Products) images() []Image {
	var out []Image
	for _, prod := range p.Products {
		arch, ok := osarch.Normalize(prod.Arch)
		if !ok {
			continue // an architecture lite cannot name is skipped, as LXD does
		}
		for serial, v := range prod.Versions {
			if len(serial) < 8 {
				continue
			}
			if _, err := time.Parse("20060102", serial[:8]); err != nil {
				continue
			}
			out = append(out, versionImages(prod, arch, serial, v)...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		for _, k := range []string{"os", "release", "variant"} {
			if a.Properties[k] != b.Properties[k] {
				return a.Properties[k] < b.Properties[k]
			}
		}
		if a.Serial != b.Serial {
			return a.Serial > b.Serial
		}
		return rootRank(a.RootType) < rootRank(b.RootType)
	})
	return out
}

func rootRank(t string) int {
	if i := slices.Index(rootTypes, t); i >= 0 {
		return i
	}
	return len(rootTypes)
}

// versionImages returns the images one version offers: split (metadata + each root type it
// has) and unified.
func versionImages(prod Product, arch, serial string, v Version) []Image {
	var out []Image
	props := map[string]string{
		"os": prod.OS, "release": prod.Release, "variant": prod.Variant, "architecture": prod.Arch,
		"serial": serial, "label": v.Label,
	}
	desc := fmt.Sprintf("%s %s %s", prod.OS, prod.ReleaseTitle, prod.Arch)
	if prod.Variant != "" && prod.Variant != "default" {
		desc += " (" + prod.Variant + ")"
	}
	if v.Label != "" {
		desc += " (" + v.Label + ")"
	}
	props["description"] = desc + " (" + serial + ")"
	reqs := prod.Requirements
	if len(reqs) == 0 {
		reqs = prod.LXDRequirements
	}
	for k, val := range reqs {
		props["requirements."+k] = val
	}
	aliases := expandAliases(prod.Aliases, prod.Arch)
	mk := func(fp, rootType string, meta Item, root *Item) Image {
		p := make(map[string]string, len(props)+1)
		for k, val := range props {
			p[k] = val
		}
		img := Image{Fingerprint: fp, Aliases: aliases, Architecture: arch, Properties: p, Serial: serial, RootType: rootType,
			Meta: File{Path: meta.Path, Size: meta.Size, SHA256: meta.SHA256}}
		if root != nil {
			img.Rootfs = &File{Path: root.Path, Size: root.Size, SHA256: root.SHA256}
			p["type"] = rootType
		}
		return img
	}
	keys := make([]string, 0, len(v.Items))
	for k := range v.Items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		it := v.Items[k]
		switch {
		case slices.Contains(unifiedMetaTypes, it.Ftype):
			out = append(out, mk(it.SHA256, "", it, nil))
		case slices.Contains(splitMetaTypes, it.Ftype):
			for _, rk := range keys {
				root := v.Items[rk]
				if root.DeltaBase != "" || !slices.Contains(rootTypes, root.Ftype) {
					continue
				}
				fp := it.CombinedSquashfsSHA256
				if root.Ftype == "root.tar.xz" {
					fp = it.CombinedRootxzSHA256
					if fp == "" {
						fp = it.CombinedSHA256
					}
				}
				if fp == "" {
					continue
				}
				out = append(out, mk(fp, root.Ftype, it, &root))
			}
		}
	}
	return out
}

// expandAliases splits a product's aliases and adds each with the /<arch> suffix.
func expandAliases(list, arch string) []string {
	var out []string
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		out = append(out, a, a+"/"+arch)
	}
	return out
}

// Resolve finds the image that name (an alias, or a fingerprint prefix) names: the newest
// version, squashfs preferred, of the host's architecture first.
func (c *Client) Resolve(ctx context.Context, name string) (Image, error) {
	all, err := c.Images(ctx)
	if err != nil {
		return Image{}, err
	}
	return Find(all, c.URL, name)
}

// Find is Resolve over images already listed from the server at url.
func Find(all []Image, url, name string) (Image, error) {
	// As in LXD: Ubuntu's own server names its images without the "ubuntu/" prefix.
	if strings.HasPrefix(url, "https://cloud-images.ubuntu.com") {
		name = strings.TrimPrefix(name, "ubuntu/")
	}
	host := osarch.Host()
	var fallback *Image
	for i := range all {
		img := all[i]
		match := slices.Contains(img.Aliases, name) || (len(name) >= 8 && strings.HasPrefix(img.Fingerprint, strings.ToLower(name)))
		if !match {
			continue
		}
		if img.Architecture == host {
			return img, nil
		}
		if fallback == nil {
			fallback = &all[i]
		}
	}
	if fallback != nil {
		return *fallback, nil
	}
	return Image{}, fmt.Errorf("image %q on %s: %w", name, url, ErrNotFound)
}

// Download fetches an image's files into dir, verifying each file's sha256 and the combined
// fingerprint, and returns their paths (the unified file, or metadata then rootfs). progress
// gets lines like "rootfs: 45% (12.3MB/s)". On error the files are removed.
func (c *Client) Download(ctx context.Context, img Image, dir string, progress func(string)) (paths []string, err error) {
	files := []struct {
		name string
		f    File
	}{{"metadata", img.Meta}}
	if img.Rootfs != nil {
		files = append(files, struct {
			name string
			f    File
		}{"rootfs", *img.Rootfs})
	}
	defer func() {
		if err != nil {
			for _, p := range paths {
				os.Remove(p)
			}
			paths = nil
		}
	}()
	whole := sha256.New()
	for _, f := range files {
		if f.f.Path == "" || strings.Contains(f.f.Path, "..") {
			return paths, fmt.Errorf("image server %s: bad file path %q: %w", c.URL, f.f.Path, ErrInvalid)
		}
		p := filepath.Join(dir, f.name+"-"+path.Base(f.f.Path))
		paths = append(paths, p)
		if err := c.fetch(ctx, f.name, f.f, p, whole, progress); err != nil {
			return paths, err
		}
	}
	if got := hex.EncodeToString(whole.Sum(nil)); got != img.Fingerprint {
		return paths, fmt.Errorf("image server %s: downloaded image has fingerprint %s, the server announced %s: %w", c.URL, got, img.Fingerprint, ErrInvalid)
	}
	return paths, nil
}

// fetch downloads one file to p, hashing it into whole too.
func (c *Client) fetch(ctx context.Context, name string, f File, p string, whole io.Writer, progress func(string)) error {
	resp, err := c.get(ctx, f.Path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	h := sha256.New()
	pw := &progressWriter{name: name, total: f.Size, start: time.Now(), report: progress}
	limit := f.Size + 1
	if f.Size <= 0 {
		limit = 64 << 30
	}
	n, err := io.Copy(io.MultiWriter(out, h, whole, pw), io.LimitReader(resp.Body, limit))
	if err != nil {
		return fmt.Errorf("image server %s: download %s: %w", c.URL, f.Path, err)
	}
	if f.Size > 0 && n != f.Size {
		return fmt.Errorf("image server %s: %s is %d bytes, the server announced %d: %w", c.URL, f.Path, n, f.Size, ErrInvalid)
	}
	if got := hex.EncodeToString(h.Sum(nil)); f.SHA256 != "" && got != f.SHA256 {
		return fmt.Errorf("image server %s: %s has sha256 %s, the server announced %s: %w", c.URL, f.Path, got, f.SHA256, ErrInvalid)
	}
	return out.Close()
}

// progressWriter reports download progress at most every half second.
type progressWriter struct {
	name   string
	total  int64
	done   int64
	start  time.Time
	last   time.Time
	report func(string)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.report == nil || time.Since(p.last) < 500*time.Millisecond {
		return len(b), nil
	}
	p.last = time.Now()
	rate := float64(p.done) / time.Since(p.start).Seconds() / 1e6
	if p.total > 0 {
		p.report(fmt.Sprintf("%s: %d%% (%.1fMB/s)", p.name, p.done*100/p.total, rate))
	} else {
		p.report(fmt.Sprintf("%s: %dMB (%.1fMB/s)", p.name, p.done>>20, rate))
	}
	return len(b), nil
}

// IsNotFound reports whether err means the server has no such image.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
