package config

import (
	"fmt"
	"strings"

	"lite/client/api"
)

// cutPair splits KEY=VALUE; the key may not be empty.
func cutPair(s string) (string, string, bool) {
	k, v, ok := strings.Cut(s, "=")
	return k, v, ok && k != ""
}

// notVolatile refuses a volatile.* key: lited owns them, and since lited ignores a client's
// copy of those it changes itself (a stale read racing a start), setting one would
// otherwise do nothing without a word.
func notVolatile(key string) error {
	if strings.HasPrefix(key, "volatile.") {
		return fmt.Errorf("config key %q is read-only: volatile.* keys are set by lited: %w", key, api.ErrInvalid)
	}
	return nil
}
