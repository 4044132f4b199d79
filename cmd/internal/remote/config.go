// Package remote holds the CLI's image remotes: simplestreams servers named in the user's
// config file (and LXD's built-in ubuntu:, ubuntu-daily: and images:), and the REMOTE:NAME
// references that use them.
package remote

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"lite/client/api"
)

// Remote is one image server.
type Remote struct {
	Addr     string `yaml:"addr"`
	Protocol string `yaml:"protocol"`
	// Fingerprint pins a lite remote's server certificate (SHA-256 of its DER).
	Fingerprint string `yaml:"fingerprint,omitempty"`
}

// Config is the CLI's config file.
type Config struct {
	// DefaultRemote is where bare names go: "local" (the daemon) unless switched.
	DefaultRemote string            `yaml:"default-remote,omitempty"`
	Remotes       map[string]Remote `yaml:"remotes"`
}

// LocalName is the daemon itself, always present, never stored.
const LocalName = "local"

// Built-in remotes as LXD 5.0 ships them. They are only contacted when a command uses them.
var (
	// Builtins are written into a new config file; images: may then be removed, as in LXD.
	Builtins = map[string]Remote{
		"ubuntu":       {Addr: "https://cloud-images.ubuntu.com/releases", Protocol: "simplestreams"},
		"ubuntu-daily": {Addr: "https://cloud-images.ubuntu.com/daily", Protocol: "simplestreams"},
		"images":       {Addr: "https://images.lxd.canonical.com", Protocol: "simplestreams"},
	}
	// static remotes cannot be removed or renamed (LXD's StaticRemotes); set-url re-points them.
	static = map[string]bool{"ubuntu": true, "ubuntu-daily": true}
)

// Path returns the config file: $LITE_CONF/config.yml, else $HOME/.config/lite/config.yml.
func Path() (string, error) {
	if dir := os.Getenv("LITE_CONF"); dir != "" {
		return filepath.Join(dir, "config.yml"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the config file: set LITE_CONF or HOME: %w", err)
	}
	return filepath.Join(home, ".config", "lite", "config.yml"), nil
}

// Load reads the config file. A missing file is the built-in remotes; the static ones are
// always there, as LXD merges its static remotes into every config.
func Load() (*Config, error) {
	p, err := Path()
	if err != nil {
		return nil, err
	}
	c := &Config{Remotes: map[string]Remote{}}
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		for n, r := range Builtins {
			c.Remotes[n] = r
		}
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", p, err)
	default:
		if err := yaml.Unmarshal(b, c); err != nil {
			return nil, fmt.Errorf("config file %s: %v: %w", p, err, api.ErrInvalid)
		}
	}
	if c.Remotes == nil {
		c.Remotes = map[string]Remote{}
	}
	for n := range static {
		if _, ok := c.Remotes[n]; !ok {
			c.Remotes[n] = Builtins[n]
		}
	}
	if c.DefaultRemote == "" {
		c.DefaultRemote = LocalName
	}
	return c, nil
}

// Save writes the config file atomically.
func (c *Config) Save() error {
	p, err := Path()
	if err != nil {
		return err
	}
	if err := mkdirPrivate(filepath.Dir(p)); err != nil {
		return err
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// Names returns the remote names, sorted.
func (c *Config) Names() []string {
	out := make([]string, 0, len(c.Remotes))
	for n := range c.Remotes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var nameRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`)

// checkName refuses a name that cannot be a remote, or that is taken.
func (c *Config) checkName(name string) error {
	if !nameRe.MatchString(name) || name == LocalName {
		return fmt.Errorf("bad remote name %q: use letters, digits, '.', '_' and '-', and not %q: %w", name, LocalName, api.ErrInvalid)
	}
	if _, ok := c.Remotes[name]; ok {
		return fmt.Errorf("remote %q already exists: %w", name, api.ErrAlreadyExists)
	}
	return nil
}

// checkAddr validates a remote's URL and protocol.
func checkAddr(addr, protocol string) (string, error) {
	if protocol != "simplestreams" {
		return "", fmt.Errorf("remote protocol %q is not supported: lite reads simplestreams image servers (--protocol simplestreams): %w", protocol, api.ErrInvalid)
	}
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("remote address %q: want an http:// or https:// URL: %w", addr, api.ErrInvalid)
	}
	return strings.TrimRight(addr, "/"), nil
}

// Add validates and records a remote.
func (c *Config) Add(name, addr, protocol string) error {
	if err := c.checkName(name); err != nil {
		return err
	}
	addr, err := checkAddr(addr, protocol)
	if err != nil {
		return err
	}
	c.Remotes[name] = Remote{Addr: addr, Protocol: protocol}
	return nil
}

// get returns a stored remote, or a not-found error saying how to list them.
func (c *Config) get(name string) (Remote, error) {
	r, ok := c.Remotes[name]
	if !ok {
		return Remote{}, fmt.Errorf("remote %q not found (lite remote list shows them): %w", name, api.ErrNotFound)
	}
	return r, nil
}

// refuseLocal refuses an action on the local remote, which is the daemon, not a server.
func refuseLocal(name, action string) error {
	if name == LocalName {
		return fmt.Errorf("remote %q is the local daemon and cannot be %s: %w", name, action, api.ErrInvalid)
	}
	return nil
}

// Remove deletes a remote; static ones (ubuntu, ubuntu-daily) stay, as in LXD.
func (c *Config) Remove(name string) error {
	if err := refuseLocal(name, "removed"); err != nil {
		return err
	}
	if static[name] {
		return fmt.Errorf("remote %q is built in and cannot be removed: point it at a mirror with \"lite remote set-url %s URL\": %w", name, name, api.ErrInvalid)
	}
	if _, err := c.get(name); err != nil {
		return err
	}
	delete(c.Remotes, name)
	if c.DefaultRemote == name {
		c.DefaultRemote = LocalName
	}
	return nil
}

// Rename renames a remote; static ones keep their names.
func (c *Config) Rename(old, name string) error {
	if err := refuseLocal(old, "renamed"); err != nil {
		return err
	}
	if static[old] {
		return fmt.Errorf("remote %q is built in and cannot be renamed: %w", old, api.ErrInvalid)
	}
	r, err := c.get(old)
	if err != nil {
		return err
	}
	if err := c.checkName(name); err != nil {
		return err
	}
	delete(c.Remotes, old)
	c.Remotes[name] = r
	if c.DefaultRemote == old {
		c.DefaultRemote = name
	}
	return nil
}

// SetURL re-points a remote, built-in ones included (an offline mirror of ubuntu:).
func (c *Config) SetURL(name, addr string) error {
	if err := refuseLocal(name, "re-pointed"); err != nil {
		return err
	}
	r, err := c.get(name)
	if err != nil {
		return err
	}
	if r.Addr, err = checkAddr(addr, r.Protocol); err != nil {
		return err
	}
	c.Remotes[name] = r
	return nil
}

// Switch makes name the default remote. A lite server as default gets every command without
// a remote prefix; a simplestreams remote only changes where bare image names are looked up.
func (c *Config) Switch(name string) error {
	if name != LocalName {
		if _, err := c.get(name); err != nil {
			return err
		}
	}
	c.DefaultRemote = name
	return nil
}

// mkdirPrivate makes the config dir, readable by its owner only.
func mkdirPrivate(dir string) error { return os.MkdirAll(dir, 0o700) }
