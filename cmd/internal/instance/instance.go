// Package instance holds the commands that manage instances: launch, init, start, stop,
// restart, delete, list, info and exec.
package instance

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"lite/client/api"
)

// forEach runs fn for every name, going on after failures; the error names the instances
// that failed when there were several.
func forEach(names []string, fn func(name string) error) error {
	var errs []error
	for _, name := range names {
		if err := fn(name); err != nil {
			if len(names) > 1 {
				err = fmt.Errorf("%s: %w", name, err)
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// parseKeyValues parses KEY=VALUE arguments (of the flag named by what) into a map.
func parseKeyValues(what string, items []string) (map[string]string, error) {
	m := map[string]string{}
	for _, item := range items {
		k, v, ok := strings.Cut(item, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid %s %q: want KEY=VALUE", what, item)
		}
		m[k] = v
	}
	return m, nil
}

// isActive reports whether an instance is running (or frozen, starting, ...), as LXD's clients
// decide it.
func isActive(inst *api.InstanceFull) bool {
	switch inst.StatusCode {
	case api.Stopped, api.Error:
		return false
	case 0: // No code: judge by the name.
		return inst.Status != "" && inst.Status != "Stopped" && inst.Status != "Error"
	}
	return true
}

// nameFromResources returns the instance named in an operation's resources
// ("/1.0/instances/c1" -> "c1").
func nameFromResources(op api.Operation) (string, error) {
	for _, key := range []string{"instances", "containers"} {
		for _, u := range op.Resources[key] {
			if name, err := url.PathUnescape(path.Base(u)); err == nil && name != "" {
				return name, nil
			}
		}
	}
	return "", errors.New("the server did not say which instance it created")
}
