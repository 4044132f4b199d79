package config

import "strings"

// cutPair splits KEY=VALUE; the key may not be empty.
func cutPair(s string) (string, string, bool) {
	k, v, ok := strings.Cut(s, "=")
	return k, v, ok && k != ""
}
