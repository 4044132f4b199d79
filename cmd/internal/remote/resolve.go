package remote

import (
	"context"
	"fmt"
	"strings"
	"time"

	"lite/client/api"
	"lite/client/simplestreams"
)

// remoteLookupTimeout bounds the question asked of each remote.
const remoteLookupTimeout = 15 * time.Second

// UbuntuRemote is the built-in remote that `lite launch ubuntu` asks for Ubuntu's current LTS.
const UbuntuRemote = "ubuntu"

// ImageSource turns an image reference into a create request's source: "NAME" (or
// "local:NAME") is a local alias or fingerprint, resolved (and if need be built) by the
// daemon; "REMOTE:NAME" is an image on a configured remote, pulled by the daemon.
func ImageSource(ref string) (api.InstanceSource, error) {
	r, name, err := Split(ref)
	if err != nil {
		return api.InstanceSource{}, err
	}
	return source(r, name), nil
}

func source(r *Remote, name string) api.InstanceSource {
	src := api.InstanceSource{Type: "image", Alias: name}
	if r != nil {
		src.Server, src.Protocol = r.Addr, r.Protocol
	}
	return src
}

// Split parses "REMOTE:NAME"; the remote is nil for local images. A bare NAME belongs to the
// default remote (local unless `lite remote switch` chose another); "REMOTE:" alone names
// the remote's "default" alias, as in LXD (Ubuntu's server gives it to the current LTS).
func Split(ref string) (*Remote, string, error) {
	rname, name, ok := strings.Cut(ref, ":")
	c, err := Load()
	if err != nil {
		return nil, "", err
	}
	if !ok {
		rname, name = c.DefaultRemote, ref
		if c.Remotes[rname].Protocol == ProtocolLite {
			rname = LocalName // a lite server as default: its own images
		}
	}
	if rname == LocalName || rname == "" {
		if name == "" {
			return nil, "", fmt.Errorf("no image named in %q: %w", ref, api.ErrInvalid)
		}
		return nil, name, nil
	}
	r, found := c.Remotes[rname]
	if !found {
		return nil, "", fmt.Errorf("remote %q not found: add it with \"lite remote add %s URL --protocol simplestreams\" (lite remote list shows the others): %w", rname, rname, api.ErrNotFound)
	}
	if name == "" {
		name = "default"
	}
	return &r, name, nil
}

// Resolution is where ResolveSource led, and which remote lookups failed on the way.
type Resolution struct {
	Source api.InstanceSource
	// Missed names the remote lookups that failed, so that an error from the daemon's
	// builder can say every way there was.
	Missed []string
}

// Explain adds the failed remote lookups to err (the daemon's answer).
func (r Resolution) Explain(err error) error {
	if err == nil || len(r.Missed) == 0 {
		return err
	}
	return fmt.Errorf("%s; and %w", strings.Join(r.Missed, "; "), err)
}

// ResolveSource is ImageSource with LXD's search order for a bare name: a local alias or
// fingerprint (local says whether the daemon has it); for "ubuntu" (or "ubuntu/VERSION") the
// ubuntu: remote's current LTS (its "lts" alias, else "default"); the first remote added by
// the user (in name order) whose index has the name; else the name as is, for the daemon's
// builder recipes (debian/12, ubuntu). A remote that cannot be reached is passed over. The
// other built-in remotes are never asked for a bare name.
func ResolveSource(ctx context.Context, ref string, local func(name string) (bool, error)) (Resolution, error) {
	c, err := Load()
	if err != nil {
		return Resolution{}, err
	}
	if strings.Contains(ref, ":") || c.DefaultRemote != LocalName {
		src, err := ImageSource(ref)
		return Resolution{Source: src}, err
	}
	res := Resolution{Source: source(nil, ref)}
	var added []string
	for _, name := range c.Names() {
		// A lite server (protocol lite) is not an image index.
		if _, builtin := Builtins[name]; !builtin && c.Remotes[name].Protocol == "simplestreams" {
			added = append(added, name)
		}
	}
	names := ubuntuAliases(ref)
	if names == nil && len(added) == 0 {
		return res, nil // no remote to ask: the daemon resolves local names and recipes
	}
	if ok, err := local(ref); err != nil || ok {
		return res, err
	}
	if names != nil {
		if r, ok := c.Remotes[UbuntuRemote]; ok {
			alias, err := lookup(ctx, r, names)
			if err == nil {
				res.Source = source(&r, alias)
				return res, nil
			}
			res.Missed = append(res.Missed, fmt.Sprintf("the %s: remote (%s) gave no image %s (%v): connect this host, or point it at a mirror with \"lite remote set-url %s URL\"",
				UbuntuRemote, r.Addr, strings.Join(names, " or "), err, UbuntuRemote))
		}
	}
	for _, name := range added {
		r := c.Remotes[name]
		if _, err := lookup(ctx, r, []string{ref}); err == nil {
			res.Source = source(&r, ref)
			return res, nil
		}
	}
	return res, nil
}

// ubuntuAliases returns the ubuntu: aliases a bare name stands for, or nil.
func ubuntuAliases(ref string) []string {
	if ref == "ubuntu" || ref == "ubuntu/lts" {
		return []string{"lts", "default"}
	}
	if v, ok := strings.CutPrefix(ref, "ubuntu/"); ok && v != "" {
		return []string{v, ref}
	}
	return nil
}

// lookup returns the first of names that the remote's index has.
func lookup(ctx context.Context, r Remote, names []string) (string, error) {
	lctx, cancel := context.WithTimeout(ctx, remoteLookupTimeout)
	defer cancel()
	imgs, err := (&simplestreams.Client{URL: r.Addr}).Images(lctx)
	if err != nil {
		return "", err
	}
	for _, n := range names {
		if _, err := simplestreams.Find(imgs, r.Addr, n); err == nil {
			return n, nil
		}
	}
	return "", fmt.Errorf("no such alias: %w", api.ErrNotFound)
}

// LocalImage returns a lookup for ResolveSource over the daemon's image list.
func LocalImage(ctx context.Context, list func(context.Context) ([]api.Image, error)) func(string) (bool, error) {
	return func(name string) (bool, error) {
		imgs, err := list(ctx)
		if err != nil {
			return false, err
		}
		for _, img := range imgs {
			if len(name) >= 4 && strings.HasPrefix(img.Fingerprint, strings.ToLower(name)) {
				return true, nil
			}
			for _, a := range img.Aliases {
				if a.Name == name {
					return true, nil
				}
			}
		}
		return false, nil
	}
}
