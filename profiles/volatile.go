package profiles

import "strings"

// IsRuntimeVolatile reports whether key is a volatile key that lited itself rewrites while
// an instance lives (its power state, a device's host-side name or MAC, a pending template
// trigger, lite's own markers). A client that read the config just before a start or stop
// sends an old value of one of these back with an unrelated change: that is a stale read,
// not a request, so an update keeps the stored value instead of refusing the whole change.
// The other volatile keys (base image, uuid, id map) are fixed at creation.
func IsRuntimeVolatile(key string) bool {
	rest, ok := strings.CutPrefix(key, "volatile.")
	if !ok {
		return false
	}
	switch {
	case strings.HasPrefix(rest, "last_state."), strings.HasPrefix(rest, "lite."), rest == "apply_template":
		return true
	case strings.HasPrefix(rest, "idmap."):
		return false
	}
	// volatile.<device>.<key>
	return strings.Count(rest, ".") >= 1
}
