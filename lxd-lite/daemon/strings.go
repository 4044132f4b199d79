package daemon

import "strings"

func splitLines(s string) []string { return strings.Split(s, "\n") }

func cut(line, prefix string) (string, bool) {
	if !strings.HasPrefix(line, prefix) {
		return "", false
	}
	return strings.Trim(strings.TrimPrefix(line, prefix), `"`), true
}
