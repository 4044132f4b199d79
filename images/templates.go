package images

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"lite/lxd-lite/idmap"

	"github.com/flosch/pongo2/v6"
	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"
)

// TemplateContext is what templates see of the container, as in LXD.
type TemplateContext struct {
	// Name is the container's name.
	Name string
	// Architecture is LXD's name for it ("x86_64").
	Architecture string
	// Privileged and Ephemeral show as "true"/"false".
	Privileged bool
	Ephemeral  bool
	// Config is the expanded instance config.
	Config map[string]string
	// Devices are the expanded devices.
	Devices map[string]map[string]string
}

// resolveInRoot resolves paths as if rootfs were "/": symlinks, absolute
// or with "..", can never lead out of it.
const resolveInRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// RenderTemplates applies the templates of layerDir/metadata.yaml whose
// `when` lists trigger, reading them from layerDir/templates/ and writing
// into rootfs. A missing file is created 0644 (parents 0755) owned by the
// container's root (shift); an existing one keeps its owner and mode, and
// is left alone if the entry is create_only. Paths resolve inside rootfs:
// no symlink in the container can make a write land outside it.
func RenderTemplates(layerDir, rootfs, trigger string, tctx TemplateContext, shift idmap.Map) error {
	data, err := readFileBeneath(layerDir, "metadata.yaml", maxMetadataSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil // an image without metadata.yaml has no templates
	}
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	var meta Metadata
	if err := yaml.Unmarshal(data, &meta); err != nil {
		return fmt.Errorf("templates: metadata.yaml: %v: %w", err, ErrInvalid)
	}
	rootfd, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("templates: open %s: %w", rootfs, err)
	}
	defer unix.Close(rootfd)
	targets := make([]string, 0, len(meta.Templates))
	for p := range meta.Templates {
		targets = append(targets, p)
	}
	sort.Strings(targets)
	for _, target := range targets {
		t := meta.Templates[target]
		if !slices.Contains(t.When, trigger) {
			continue
		}
		if err := renderOne(layerDir, rootfd, target, trigger, t, tctx, shift); err != nil {
			return fmt.Errorf("template %s for %s: %w", t.Template, target, err)
		}
	}
	return nil
}

// renderOne renders and writes one template.
func renderOne(layerDir string, rootfd int, target, trigger string, t Template, tctx TemplateContext, shift idmap.Map) error {
	if !validTemplateName(t.Template) {
		return fmt.Errorf("bad template name: %w", ErrInvalid)
	}
	rel := strings.TrimPrefix(path.Clean("/"+target), "/")
	if rel == "" {
		return fmt.Errorf("bad target: %w", ErrInvalid)
	}
	existing, err := unix.Openat2(rootfd, rel, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: resolveInRoot})
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("open target: %w", err)
	}
	if existing >= 0 {
		defer unix.Close(existing)
		if t.CreateOnly {
			return nil
		}
	}
	text, err := readFileBeneath(layerDir, path.Join("templates", t.Template), maxMetadataSize)
	if err != nil {
		return err
	}
	out, err := render(rootfd, string(text), target, trigger, t, tctx)
	if err != nil {
		return err
	}
	var f *os.File
	if existing >= 0 {
		f, err = reopenRegular(existing, os.O_WRONLY|os.O_TRUNC)
	} else {
		f, err = createInRoot(rootfd, rel, shift)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteString(out); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := applyOverrides(f, t, shift); err != nil {
		return err
	}
	return f.Close()
}

// createInRoot creates rel (and missing parents, 0755) inside the root,
// owned by the container's root, mode 0644.
func createInRoot(rootfd int, rel string, shift idmap.Map) (*os.File, error) {
	parent, name := splitPath(rel)
	pfd, err := mkdirInRoot(rootfd, parent, shift)
	if err != nil {
		return nil, err
	}
	defer unix.Close(pfd)
	fd, err := unix.Openat(pfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		// EEXIST here is a dangling symlink: never created through.
		return nil, fmt.Errorf("create target: %w", err)
	}
	f := os.NewFile(uintptr(fd), rel)
	if err := f.Chown(int(shift.UID), int(shift.GID)); err != nil {
		f.Close()
		return nil, fmt.Errorf("chown target: %w", err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return nil, fmt.Errorf("chmod target: %w", err)
	}
	return f, nil
}

// mkdirInRoot opens directory rel inside the root, creating missing
// components 0755 owned by the container's root.
func mkdirInRoot(rootfd int, rel string, shift idmap.Map) (int, error) {
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: resolveInRoot}
	cur, err := unix.Dup(rootfd)
	if err != nil {
		return -1, err
	}
	prefix := ""
	for _, c := range strings.Split(rel, "/") {
		if c == "" {
			continue
		}
		prefix = path.Join(prefix, c)
		next, err := unix.Openat2(rootfd, prefix, how)
		if errors.Is(err, unix.ENOENT) {
			// Only what we create gets our owner; EEXIST is a race or a
			// dangling symlink, which the reopen below sorts out.
			if err = unix.Mkdirat(cur, c, 0o755); err == nil {
				err = unix.Fchownat(cur, c, int(shift.UID), int(shift.GID), unix.AT_SYMLINK_NOFOLLOW)
			} else if errors.Is(err, unix.EEXIST) {
				err = nil
			}
			if err == nil {
				next, err = unix.Openat2(rootfd, prefix, how)
			}
		}
		unix.Close(cur)
		if err != nil {
			return -1, fmt.Errorf("directory %s: %w", prefix, err)
		}
		cur = next
	}
	return cur, nil
}

// applyOverrides applies Incus's optional uid, gid and mode (container ids,
// octal mode) to the written file.
func applyOverrides(f *os.File, t Template, shift idmap.Map) error {
	if t.UID != "" || t.GID != "" {
		uid, gid := -1, -1
		for _, o := range []struct {
			s    string
			kind idmap.Kind
			dst  *int
		}{{t.UID, idmap.User, &uid}, {t.GID, idmap.Group, &gid}} {
			if o.s == "" {
				continue
			}
			id, err := strconv.Atoi(o.s)
			if err != nil {
				return fmt.Errorf("owner %q: %w", o.s, ErrInvalid)
			}
			hid, err := shiftID(shift, o.kind, id)
			if err != nil {
				return err
			}
			*o.dst = int(hid)
		}
		if err := f.Chown(uid, gid); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if t.Mode != "" {
		mode, err := strconv.ParseUint(t.Mode, 8, 32)
		if err != nil || mode > 0o7777 {
			return fmt.Errorf("mode %q: %w", t.Mode, ErrInvalid)
		}
		if err := f.Chmod(os.FileMode(mode&0o777) | unixModeBits(uint32(mode))); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	return nil
}

// unixModeBits converts setuid, setgid and sticky bits to os.FileMode's.
func unixModeBits(m uint32) os.FileMode {
	var out os.FileMode
	if m&unix.S_ISUID != 0 {
		out |= os.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		out |= os.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		out |= os.ModeSticky
	}
	return out
}

// render runs the pongo2 engine on one template with LXD's context.
func render(rootfd int, text, target, trigger string, t Template, tctx TemplateContext) (string, error) {
	set := pongo2.NewSet("lite-templates", &rootfsLoader{rootfd: rootfd})
	// ssi reads files with plain os calls, from the host: ban it. include,
	// import and extends go through rootfsLoader.
	if err := set.BanTag("ssi"); err != nil {
		return "", fmt.Errorf("pongo2: %w", err)
	}
	tpl, err := set.FromString("{% autoescape off %}" + text + "{% endautoescape %}")
	if err != nil {
		return "", fmt.Errorf("parse: %v: %w", err, ErrInvalid)
	}
	out, err := tpl.Execute(templateContext(target, trigger, t, tctx))
	if err != nil {
		return "", fmt.Errorf("render: %v: %w", err, ErrInvalid)
	}
	return out, nil
}

// templateContext builds the variables LXD gives templates.
func templateContext(target, trigger string, t Template, tctx TemplateContext) pongo2.Context {
	instance := map[string]string{
		"name":         tctx.Name,
		"type":         "container",
		"architecture": tctx.Architecture,
		"privileged":   strconv.FormatBool(tctx.Privileged),
		"ephemeral":    strconv.FormatBool(tctx.Ephemeral),
	}
	config := tctx.Config
	if config == nil {
		config = map[string]string{}
	}
	devices := tctx.Devices
	if devices == nil {
		devices = map[string]map[string]string{}
	}
	props := t.Properties
	if props == nil {
		props = map[string]string{}
	}
	configGet := func(key, def *pongo2.Value) *pongo2.Value {
		v, ok := config[key.String()]
		if !ok {
			return def
		}
		return pongo2.AsValue(strings.TrimRight(v, "\r\n"))
	}
	return pongo2.Context{
		"trigger":    trigger,
		"path":       target,
		"container":  instance,
		"instance":   instance,
		"config":     config,
		"devices":    devices,
		"properties": props,
		"config_get": configGet,
	}
}

// rootfsLoader serves {% include %} and friends from the container's
// rootfs, resolved inside it, regular files only, size-bounded.
type rootfsLoader struct {
	rootfd int
}

// Abs resolves name against the including template's path.
func (l *rootfsLoader) Abs(base, name string) string {
	if path.IsAbs(name) || base == "" {
		return path.Clean("/" + name)
	}
	return path.Join(path.Dir(base), name)
}

// Get reads the file at p inside the rootfs.
func (l *rootfsLoader) Get(p string) (io.Reader, error) {
	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	fd, err := unix.Openat2(l.rootfd, rel, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: resolveInRoot})
	if err != nil {
		return nil, fmt.Errorf("include %s: %w", p, err)
	}
	defer unix.Close(fd)
	data, err := readRegular(fd, maxMetadataSize)
	if err != nil {
		return nil, fmt.Errorf("include %s: %w", p, err)
	}
	return bytes.NewReader(data), nil
}
