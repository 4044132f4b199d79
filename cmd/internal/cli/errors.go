package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// ExitError ends the program with Code. Err, when set, is printed first as any error is.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode prints err, if it has a message to show, as one "Error: ..." line on w and
// returns the process exit code for it: 0 for nil, the code of an *ExitError, 130 for an
// interrupt (context.Canceled), else 1. This is the only place where errors become exit codes.
func ExitCode(w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	code := 1
	if errors.Is(err, context.Canceled) {
		code = 130 // interrupted, as a shell reports a command ended by SIGINT
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		code = exit.Code
		if exit.Err == nil {
			return code
		}
	}
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
	_, _ = fmt.Fprintf(w, "Error: %s\n", msg)
	return code
}

// ExactArgs accepts exactly n arguments; usage is shown in the error otherwise.
func ExactArgs(n int) cobra.PositionalArgs {
	return argRange(n, n)
}

// MinArgs accepts at least n arguments.
func MinArgs(n int) cobra.PositionalArgs { return argRange(n, -1) }

// RangeArgs accepts between min and max arguments.
func RangeArgs(min, max int) cobra.PositionalArgs { return argRange(min, max) }

func argRange(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min || (max >= 0 && len(args) > max) {
			return fmt.Errorf("invalid number of arguments: usage: %s", cmd.UseLine())
		}
		return nil
	}
}
