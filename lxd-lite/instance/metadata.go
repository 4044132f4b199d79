package instance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"lite/client/api"
	"lite/lxd-lite/atomicfile"
)

// An instance reads its image's metadata.yaml and templates/ until the first edit through
// LXD's /metadata or /metadata/templates endpoints, which copies both to containers/NAME/meta/
// (root only: 0700, files 0600). From then on the instance's templates render from that copy;
// the shared image layer is never written.

// Metadata reads and edits an instance's metadata.yaml and template files.
type Metadata struct{ *core }

// MaxMetadataSize bounds metadata.yaml and each template file.
const MaxMetadataSize = 1 << 20

// maxTemplates bounds the number of template files an instance keeps.
const maxTemplates = 1024

var templateTriggers = []string{"create", "copy", "start", "rename"}

func (m *core) metaDir(name string) string { return filepath.Join(m.Dir(name), "meta") }

// templateLayer returns the dir the instance's templates render from: its own copy once
// edited, else the image layer.
func (m *core) templateLayer(name, imageLayer string) string {
	if st, err := os.Lstat(filepath.Join(m.metaDir(name), "metadata.yaml")); err == nil && st.Mode().IsRegular() {
		return m.metaDir(name)
	}
	return imageLayer
}

// metaSource returns the dir holding the instance's metadata.yaml and templates/.
func (m *Metadata) metaSource(ctx context.Context, name string) (string, error) {
	inst, err := m.db.GetInstance(ctx, name)
	if err != nil {
		return "", err
	}
	cfg, _, err := m.expand(ctx, inst)
	if err != nil {
		return "", err
	}
	vol, err := m.volume(ctx, inst, m.idmapFor(cfg))
	if err != nil {
		return "", err
	}
	return m.templateLayer(name, filepath.Dir(vol.Lower)), nil
}

// readBeneath reads dir/rel without following a symlink out of dir, at most MaxMetadataSize.
func readBeneath(dir, rel string) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file: %w", rel, api.ErrInvalid)
	}
	if st.Size() > MaxMetadataSize {
		return nil, fmt.Errorf("%s is %d bytes, over the %d byte limit: %w", rel, st.Size(), MaxMetadataSize, api.ErrInvalid)
	}
	b := make([]byte, st.Size())
	_, err = f.ReadAt(b, 0)
	return b, err
}

// Metadata returns an instance's metadata.yaml (empty when its image has none).
func (m *Metadata) Metadata(ctx context.Context, name string) (api.ImageMetadata, error) {
	dir, err := m.metaSource(ctx, name)
	if err != nil {
		return api.ImageMetadata{}, err
	}
	return readMetadata(dir)
}

func readMetadata(dir string) (api.ImageMetadata, error) {
	md := api.ImageMetadata{Properties: map[string]string{}, Templates: map[string]api.ImageTemplate{}}
	data, err := readBeneath(dir, "metadata.yaml")
	if errors.Is(err, fs.ErrNotExist) {
		return md, nil
	}
	if err != nil {
		return md, fmt.Errorf("read metadata.yaml: %w", err)
	}
	if err := yaml.Unmarshal(data, &md); err != nil {
		return md, fmt.Errorf("metadata.yaml: %v: %w", err, api.ErrInvalid)
	}
	return md, nil
}

// ValidTemplateName refuses anything but a plain file name.
func ValidTemplateName(n string) error {
	if n == "" || n == "." || n == ".." || len(n) > 255 || strings.ContainsAny(n, "/\x00") {
		return fmt.Errorf("template name %q must be a plain file name (no \"/\", not \"..\"): %w", n, api.ErrInvalid)
	}
	return nil
}

// ValidateMetadata checks an instance's metadata before it is stored.
func ValidateMetadata(md api.ImageMetadata) error {
	if len(md.Templates) > maxTemplates {
		return fmt.Errorf("%d templates, over the limit of %d: %w", len(md.Templates), maxTemplates, api.ErrInvalid)
	}
	for target, t := range md.Templates {
		if !strings.HasPrefix(target, "/") || strings.ContainsRune(target, 0) || filepath.Clean(target) == "/" {
			return fmt.Errorf("template target %q must be an absolute file path in the instance: %w", target, api.ErrInvalid)
		}
		if err := ValidTemplateName(t.Template); err != nil {
			return fmt.Errorf("template for %s: %w", target, err)
		}
		if len(t.When) == 0 {
			return fmt.Errorf("template for %s: \"when\" is empty; use some of %s: %w", target, strings.Join(templateTriggers, ", "), api.ErrInvalid)
		}
		for _, w := range t.When {
			if !slices.Contains(templateTriggers, w) {
				return fmt.Errorf("template for %s: unknown \"when\" value %q; use %s: %w", target, w, strings.Join(templateTriggers, ", "), api.ErrInvalid)
			}
		}
	}
	return nil
}

// SetMetadata validates and stores an instance's metadata.yaml.
func (m *Metadata) SetMetadata(ctx context.Context, name string, md api.ImageMetadata) error {
	if err := ValidateMetadata(md); err != nil {
		return err
	}
	data, err := yaml.Marshal(md)
	if err != nil {
		return fmt.Errorf("encode metadata.yaml: %w", err)
	}
	if len(data) > MaxMetadataSize {
		return fmt.Errorf("metadata is %d bytes, over the %d byte limit: %w", len(data), MaxMetadataSize, api.ErrInvalid)
	}
	return m.editMeta(ctx, name, func(dir string) error { return atomicfile.WriteFile(filepath.Join(dir, "metadata.yaml"), data, 0o600) })
}

// editMeta runs fn on the instance's own metadata dir, made from the image's on first use.
func (m *Metadata) editMeta(ctx context.Context, name string, fn func(dir string) error) error {
	ctx, unlock := m.locks.lock(ctx, name)
	defer unlock()
	src, err := m.metaSource(ctx, name)
	if err != nil {
		return err
	}
	dir := m.metaDir(name)
	if src != dir {
		if err := m.initMeta(src, dir); err != nil {
			_ = os.RemoveAll(dir)
			return fmt.Errorf("instance %q: copy image metadata: %w", name, err)
		}
	}
	return fn(dir)
}

// initMeta copies the image's templates, then its metadata.yaml (last: its presence marks
// the copy complete), into dir.
func (m *Metadata) initMeta(src, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "templates"), 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	names, err := listTemplates(src)
	if err != nil {
		return err
	}
	for _, n := range names {
		b, err := readBeneath(src, filepath.Join("templates", n))
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, "templates", n), b, 0o600); err != nil {
			return err
		}
	}
	md, err := readMetadata(src)
	if err != nil {
		return err
	}
	data, err := yaml.Marshal(md)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "metadata.yaml"), data, 0o600)
}

// listTemplates lists the plain regular files in dir/templates.
func listTemplates(dir string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, "templates"))
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, e := range ents {
		if e.Type().IsRegular() && ValidTemplateName(e.Name()) == nil && !atomicfile.IsTemp(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Templates lists an instance's template files.
func (m *Metadata) Templates(ctx context.Context, name string) ([]string, error) {
	dir, err := m.metaSource(ctx, name)
	if err != nil {
		return nil, err
	}
	return listTemplates(dir)
}

// Template returns one template file's content.
func (m *Metadata) Template(ctx context.Context, name, tpl string) ([]byte, error) {
	if err := ValidTemplateName(tpl); err != nil {
		return nil, err
	}
	dir, err := m.metaSource(ctx, name)
	if err != nil {
		return nil, err
	}
	b, err := readBeneath(dir, filepath.Join("templates", tpl))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("template %q of instance %q: %w", tpl, name, api.ErrNotFound)
	}
	return b, err
}

// SetTemplate creates or replaces a template file.
func (m *Metadata) SetTemplate(ctx context.Context, name, tpl string, content []byte) error {
	if err := ValidTemplateName(tpl); err != nil {
		return err
	}
	if len(content) > MaxMetadataSize {
		return fmt.Errorf("template is over the %d byte limit: %w", MaxMetadataSize, api.ErrInvalid)
	}
	return m.editMeta(ctx, name, func(dir string) error {
		names, err := listTemplates(dir)
		if err != nil {
			return err
		}
		if len(names) >= maxTemplates && !slices.Contains(names, tpl) {
			return fmt.Errorf("instance %q has %d templates, the limit: %w", name, maxTemplates, api.ErrInvalid)
		}
		return atomicfile.WriteFile(filepath.Join(dir, "templates", tpl), content, 0o600)
	})
}

// DeleteTemplate removes a template file.
func (m *Metadata) DeleteTemplate(ctx context.Context, name, tpl string) error {
	if err := ValidTemplateName(tpl); err != nil {
		return err
	}
	if _, err := m.Template(ctx, name, tpl); err != nil {
		return err
	}
	return m.editMeta(ctx, name, func(dir string) error {
		err := os.Remove(filepath.Join(dir, "templates", tpl))
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("template %q of instance %q: %w", tpl, name, api.ErrNotFound)
		}
		return err
	})
}
