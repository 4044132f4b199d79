package images

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"lite/lxd-lite/idmap"

	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"
)

// Builder makes Debian images with debootstrap and caches them by recipe
// key, so each recipe is built once per machine.
type Builder struct {
	// CacheDir holds finished image tarballs, named
	// <os>-<release>-<key>.tar.gz.
	CacheDir string
	// Mirror is the Debian archive used for recipes that name none; empty
	// means DefaultMirror.
	Mirror string
	// UbuntuMirror and UbuntuKeyring are the Ubuntu archive and its keyring
	// file; Ubuntu recipes cannot build without both.
	UbuntuMirror  string
	UbuntuKeyring string
	// Progress, if set, receives one line per step, and debootstrap's
	// output as "debootstrap: ..." lines.
	Progress func(msg string)
}

// CachePath returns where the tarball for r is (or would be) cached, with
// the mirror defaulted as Build does.
func (b *Builder) CachePath(r Recipe) string {
	r = b.effective(r)
	return filepath.Join(b.CacheDir, fmt.Sprintf("%s-%s-%s.tar.gz", r.OS, r.Release, r.Key()))
}

// Build returns the path of an image tarball for r. A cached one is returned
// as is (the caller copies or links it, never modifies it). Otherwise Build
// debootstraps into workDir/rootfs, customizes the tree for unprivileged
// containers, packs it with metadata.yaml and templates into the cache
// (atomically) and returns that path. The caller removes workDir.
// Cancelling ctx kills debootstrap and its children. Concurrent builds of
// the same recipe, from any process, wait for one another.
func (b *Builder) Build(ctx context.Context, r Recipe, workDir string) (string, error) {
	r = b.effective(r)
	if r.OS == "" || r.Suite == "" || r.Release == "" {
		return "", fmt.Errorf("build: incomplete recipe %+v: %w", r, ErrInvalid)
	}
	if b.CacheDir == "" || workDir == "" {
		return "", fmt.Errorf("build: no cache or work directory: %w", ErrInvalid)
	}
	cached := b.CachePath(r)
	if _, err := os.Stat(cached); err == nil {
		return cached, nil
	}
	if _, err := b.Plan(r, filepath.Join(workDir, "rootfs")); err != nil {
		return "", err
	}
	if err := os.MkdirAll(b.CacheDir, 0o755); err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	unlock, err := lockFile(ctx, cached+".lock")
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	defer unlock()
	if _, err := os.Stat(cached); err == nil {
		return cached, nil
	}
	// Holding the lock, any temporary file for this key is a crashed
	// build's leftover.
	if err := removeMatching(filepath.Join(b.CacheDir, ".tmp-"+filepath.Base(cached)+"-*")); err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	start := time.Now()
	if err := b.build(ctx, r, workDir, cached); err != nil {
		return "", fmt.Errorf("build %s/%s: %w", r.OS, r.Release, err)
	}
	b.progress(fmt.Sprintf("built %s in %s", filepath.Base(cached), time.Since(start).Round(time.Second)))
	return cached, nil
}

// build does the work of Build once the cache is known to miss.
func (b *Builder) build(ctx context.Context, r Recipe, workDir, cached string) error {
	rootfs := filepath.Join(workDir, "rootfs")
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return err
	}
	// A rootfs left by an earlier attempt in the same workDir would confuse
	// debootstrap; unmount before removing, never delete through a mount.
	if err := unmountUnder(rootfs); err != nil {
		return err
	}
	if err := os.RemoveAll(rootfs); err != nil {
		return err
	}
	if err := b.debootstrap(ctx, r, rootfs); err != nil {
		return err
	}
	b.progress("customizing the root filesystem")
	if err := customize(ctx, rootfs, r); err != nil {
		return err
	}
	if err := writeImageFiles(workDir, r, time.Now()); err != nil {
		return err
	}
	b.progress("packing the image")
	return writeAtomic(cached, func(f *os.File) error {
		w := bufio.NewWriterSize(f, 1<<20)
		if err := Pack(ctx, w, workDir, idmap.Map{}); err != nil {
			return err
		}
		return w.Flush()
	})
}

// effective fills the recipe's mirror from the builder's, then the default.
func (b *Builder) effective(r Recipe) Recipe {
	if r.OS == "ubuntu" {
		if r.Mirror == "" {
			r.Mirror = b.UbuntuMirror
		}
		if r.Keyring == "" {
			r.Keyring = b.UbuntuKeyring
		}
		return r
	}
	if r.Mirror == "" {
		r.Mirror = b.Mirror
	}
	if r.Mirror == "" {
		r.Mirror = DefaultMirror
	}
	return r
}

func (b *Builder) progress(msg string) {
	if b.Progress != nil {
		b.Progress(msg)
	}
}

// writeImageFiles writes metadata.yaml and templates/ next to the rootfs.
func writeImageFiles(dir string, r Recipe, now time.Time) error {
	meta, tpls := imageMetadata(r, now)
	data, err := yaml.Marshal(meta)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "metadata.yaml"), data, 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "templates"), 0o755); err != nil {
		return err
	}
	for name, content := range tpls {
		if err := os.WriteFile(filepath.Join(dir, "templates", name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// imageMetadata returns the metadata and the template files of an image
// built from r at the time now.
func imageMetadata(r Recipe, now time.Time) (Metadata, map[string]string) {
	now = now.UTC()
	serial := now.Format("20060102_15:04")
	arch := hostDebianArch()
	triggers := []string{TriggerCreate, TriggerCopy, TriggerRename}
	meta := Metadata{
		Architecture: HostArchitecture(),
		CreationDate: now.Unix(),
		Properties: map[string]string{
			"os":           r.displayOS(),
			"release":      r.Suite,
			"version":      r.Release,
			"variant":      r.Variant,
			"architecture": arch,
			"serial":       serial,
			"description":  fmt.Sprintf("%s %s %s (lite %s)", r.displayOS(), r.Suite, arch, serial),
			"name":         fmt.Sprintf("%s-%s-%s-%s-%s", r.OS, r.Suite, arch, r.Variant, serial),
		},
		Templates: map[string]Template{
			"/etc/hostname": {When: triggers, Template: "hostname.tpl"},
			"/etc/hosts":    {When: triggers, Template: "hosts.tpl"},
			// Root's ssh keys come from the instance config key SSHKeysKey, on create and copy.
			"/root/.ssh/authorized_keys": {When: []string{TriggerCreate, TriggerCopy}, Template: "authorized_keys.tpl", Mode: "600"},
		},
	}
	tpls := map[string]string{
		"authorized_keys.tpl": authorizedKeysTemplate,
		"hostname.tpl":        "{{ instance.name }}\n",
		"hosts.tpl": "127.0.0.1\tlocalhost\n127.0.1.1\t{{ instance.name }}\n\n" +
			"# The following lines are desirable for IPv6 capable hosts\n" +
			"::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n",
	}
	withCloudInit(r, &meta, tpls)
	return meta, tpls
}

// SSHKeysKey is the instance config key whose value (one or more public keys, one per line)
// the builder's images write to root's ~/.ssh/authorized_keys when the instance is created
// or copied: lite launch debian/12 web1 -c user.ssh-authorized-keys="$(cat ~/.ssh/id_ed25519.pub)".
// It is a user.* key, so LXD and Incus accept it too and images from lite keep working there.
const SSHKeysKey = "user.ssh-authorized-keys"

// authorizedKeysTemplate renders SSHKeysKey, newline-terminated, or nothing.
const authorizedKeysTemplate = `{% with keys=config_get("` + SSHKeysKey + `", "") %}{% if keys %}{{ keys }}
{% endif %}{% endwith %}`

// writeAtomic writes path through fill into a temporary file beside it,
// synced and renamed into place, so readers see all of it or nothing.
func writeAtomic(path string, fill func(*os.File) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := fill(f); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// lockFile takes an exclusive flock on path, waiting for ctx at most, and
// returns its release.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// removeMatching removes every file or tree matching the glob pattern.
func removeMatching(pattern string) error {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return err
	}
	for _, m := range matches {
		if err := os.RemoveAll(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
