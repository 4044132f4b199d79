package profiles

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"time"

	"lite/client/api"
)

// serverKeys are the server config keys (PUT /1.0 config), each with its validator.
var serverKeys = map[string]Validator{
	// core.https_address is where lited also serves the API over TLS: HOST:PORT or :PORT.
	"core.https_address": Optional(IsListenAddress),
	// core.remote_token_expiry is how long a join token stays valid (Go duration, e.g. 30m).
	"core.remote_token_expiry": Optional(IsDuration),
}

// ServerKeys returns the known server config keys, sorted.
func ServerKeys() []string {
	out := make([]string, 0, len(serverKeys))
	for k := range serverKeys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ValidateServerConfig checks a whole server config; unknown keys are refused.
func ValidateServerConfig(cfg map[string]string) error {
	for k, v := range cfg {
		val, ok := serverKeys[k]
		if !ok {
			return fmt.Errorf("unknown server config key %q (known: %v): %w", k, ServerKeys(), api.ErrInvalid)
		}
		if err := val(v); err != nil {
			return fmt.Errorf("server config key %q: %v: %w", k, err, api.ErrInvalid)
		}
	}
	return nil
}

// IsListenAddress accepts HOST:PORT or :PORT with an IP address (or none) and a port 1-65535.
func IsListenAddress(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT (for example 127.0.0.1:8443 or :8443)", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q of %q is not a number from 1 to 65535", port, v)
	}
	if host != "" && net.ParseIP(host) == nil {
		return fmt.Errorf("host %q of %q is not an IP address", host, v)
	}
	return nil
}

// IsDuration accepts a positive Go duration such as 30m or 2h.
func IsDuration(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("%q is not a positive duration (for example 30m or 2h)", v)
	}
	return nil
}
