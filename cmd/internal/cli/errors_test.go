package cli

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestExitCode(t *testing.T) {
	cases := []struct {
		err     error
		code    int
		printed string
	}{
		{nil, 0, ""},
		{errors.New("boom"), 1, "Error: boom\n"},
		{errors.New("unknown command \"x\"\n\nDid you mean this?\n\tlist\n"), 1, "Error: unknown command \"x\" Did you mean this? list\n"},
		{&ExitError{Code: 3}, 3, ""},
		{fmt.Errorf("exec: %w", &ExitError{Code: 127, Err: errors.New("Command not found")}), 127, "Error: exec: Command not found\n"},
	}
	for _, tc := range cases {
		var b bytes.Buffer
		if code := ExitCode(&b, tc.err); code != tc.code || b.String() != tc.printed {
			t.Errorf("ExitCode(%v) = %d printing %q, want %d printing %q", tc.err, code, b.String(), tc.code, tc.printed)
		}
	}
}
