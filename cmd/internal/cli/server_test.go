package cli

import (
	"errors"
	"strings"
	"testing"

	"lite/client"
	"lite/client/api"
)

// References go to one server when ServerOf names the same one, whatever their written
// prefixes: after `lite remote switch host2`, "host2:a" and "b" are both on host2, and
// "local:a" and "b" are not.
func TestOneServer(t *testing.T) {
	def := "host2"
	f := &Factory{
		SplitRemote: func(ref string) (func() (*client.Client, error), string, bool) {
			if r, rest, ok := strings.Cut(ref, ":"); ok && (r == "host2" || r == "local" || r == "host3") {
				return nil, rest, true
			}
			return nil, ref, false
		},
		ServerOf: func(ref string) string {
			if r, _, ok := strings.Cut(ref, ":"); ok {
				return r
			}
			return def
		},
	}
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"host2:a", "b", true},
		{"host2:a", "host2:b", true},
		{"local:a", "b", false},
		{"a", "host3:b", false},
		{"a", "b", true},
	} {
		if got := f.OneServer(c.a, c.b); got != c.want {
			t.Errorf("OneServer(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	names, err := f.SameServer([]string{"host2:a", "b"})
	if err != nil || strings.Join(names, ",") != "a,b" {
		t.Errorf("SameServer(host2:a, b) = %v, %v; want a,b", names, err)
	}
	if _, err := f.SameServer([]string{"local:a", "b"}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("SameServer(local:a, b) = %v, want ErrInvalid", err)
	}
}
