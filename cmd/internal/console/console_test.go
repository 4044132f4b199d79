package console

import (
	"io"
	"strings"
	"testing"
)

func TestDetachReader(t *testing.T) {
	for in, want := range map[string]string{
		"ls\r\x01q after": "ls\r",
		"a\x01\x01b":      "a\x01b",
		"a\x01xb":         "a\x01xb",
		"plain":           "plain",
	} {
		got, err := io.ReadAll(&detachReader{r: strings.NewReader(in)})
		if err != nil || string(got) != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
}
