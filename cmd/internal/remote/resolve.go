package remote

import (
	"context"
	"strings"
	"time"

	"lite/client/api"
	"lite/images/simplestreams"
)

// remoteLookupTimeout bounds the question asked of each remote.
const remoteLookupTimeout = 15 * time.Second

// ResolveSource is ImageSource with LXD's search order for a bare name: a local alias or
// fingerprint (local says whether the daemon has it), else the first configured remote (in
// name order) whose index has the name, else the name as is, for the daemon's builder
// recipes (debian/12, ubuntu). A remote that cannot be reached is passed over.
func ResolveSource(ctx context.Context, ref string, local func(name string) (bool, error)) (api.InstanceSource, error) {
	if strings.Contains(ref, ":") {
		return ImageSource(ref)
	}
	src := api.InstanceSource{Type: "image", Alias: ref}
	c, err := Load()
	if err != nil || len(c.Remotes) == 0 {
		return src, err // no remote to ask: the daemon resolves local names and recipes
	}
	if ok, err := local(ref); err != nil || ok {
		return src, err
	}
	for _, name := range c.Names() {
		r := c.Remotes[name]
		if r.Protocol != "simplestreams" {
			continue // a lite server is not an image index
		}
		lctx, cancel := context.WithTimeout(ctx, remoteLookupTimeout)
		_, err := (&simplestreams.Client{URL: r.Addr}).Resolve(lctx, ref)
		cancel()
		if err == nil {
			src.Server, src.Protocol = r.Addr, r.Protocol
			return src, nil
		}
	}
	return src, nil
}

// LocalImage returns a lookup for ResolveSource over the daemon's image list.
func LocalImage(list func() ([]api.Image, error)) func(string) (bool, error) {
	return func(name string) (bool, error) {
		imgs, err := list()
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
