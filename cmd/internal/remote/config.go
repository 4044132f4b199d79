// Package remote holds the CLI's image remotes: simplestreams servers named in the user's
// config file, and the REMOTE:NAME references that use them.
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
	Remotes map[string]Remote `yaml:"remotes"`
}

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

// Load reads the config file; a missing file is an empty config.
func Load() (*Config, error) {
	p, err := Path()
	if err != nil {
		return nil, err
	}
	c := &Config{Remotes: map[string]Remote{}}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if err := yaml.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("config file %s: %v: %w", p, err, api.ErrInvalid)
	}
	if c.Remotes == nil {
		c.Remotes = map[string]Remote{}
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

// Add validates and records a remote.
func (c *Config) Add(name, addr, protocol string) error {
	if !nameRe.MatchString(name) || name == "local" {
		return fmt.Errorf("bad remote name %q: %w", name, api.ErrInvalid)
	}
	if _, ok := c.Remotes[name]; ok {
		return fmt.Errorf("remote %q already exists: %w", name, api.ErrAlreadyExists)
	}
	if protocol != "simplestreams" {
		return fmt.Errorf("remote protocol %q is not supported: lite reads simplestreams image servers (--protocol simplestreams): %w", protocol, api.ErrInvalid)
	}
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("remote address %q: want an http:// or https:// URL: %w", addr, api.ErrInvalid)
	}
	c.Remotes[name] = Remote{Addr: strings.TrimRight(addr, "/"), Protocol: protocol}
	return nil
}

// ImageSource turns an image reference into a create request's source: "NAME" (or
// "local:NAME") is a local alias or fingerprint, resolved (and if need be built) by the
// daemon; "REMOTE:NAME" is an image on a configured remote, pulled by the daemon.
func ImageSource(ref string) (api.InstanceSource, error) {
	r, name, err := Split(ref)
	if err != nil {
		return api.InstanceSource{}, err
	}
	src := api.InstanceSource{Type: "image", Alias: name}
	if r != nil {
		src.Server, src.Protocol = r.Addr, r.Protocol
	}
	return src, nil
}

// Split parses "REMOTE:NAME"; the remote is nil for local images.
func Split(ref string) (*Remote, string, error) {
	rname, name, ok := strings.Cut(ref, ":")
	if !ok {
		return nil, ref, nil
	}
	if rname == "local" || rname == "" {
		return nil, name, nil
	}
	c, err := Load()
	if err != nil {
		return nil, "", err
	}
	r, found := c.Remotes[rname]
	if !found {
		return nil, "", fmt.Errorf("remote %q not found: add it with \"lite remote add %s URL --protocol simplestreams\" (lite remote list shows the others): %w", rname, rname, api.ErrNotFound)
	}
	if name == "" {
		return nil, "", fmt.Errorf("no image named after %q: %w", rname+":", api.ErrInvalid)
	}
	return &r, name, nil
}

// mkdirPrivate makes the config dir, readable by its owner only.
func mkdirPrivate(dir string) error { return os.MkdirAll(dir, 0o700) }
