package cli_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/cli/clitest"
)

// waitInterrupted starts a create operation that never ends by itself and waits for it with
// a context already cancelled, as after Ctrl-C. It returns the server and the wait's error.
func waitInterrupted(t *testing.T, mayCancel bool) (*clitest.Server, error) {
	t.Helper()
	s := clitest.NewServer(t)
	s.Mux.HandleFunc("POST /1.0/instances", func(w http.ResponseWriter, _ *http.Request) {
		s.Async(w, api.Operation{Description: "Creating instance", StatusCode: api.Running, MayCancel: mayCancel})
	})
	op, err := cli.Remote(s.Client(t)).CreateInstance(t.Context(), api.InstancesPost{Name: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = op.Wait(ctx, nil)
	return s, err
}

// TestInterruptCancelsOperation: an interrupted wait cancels a cancellable operation on the
// server, says so, and exits 130.
func TestInterruptCancelsOperation(t *testing.T) {
	s, err := waitInterrupted(t, true)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "operation op1 (Creating instance) cancelled") {
		t.Fatalf("Wait after interrupt = %v, want the cancelled operation named", err)
	}
	if got := s.CallLog(); got != "POST /1.0/instances\nDELETE /1.0/operations/op1" {
		t.Errorf("calls = %q, want the operation cancelled once", got)
	}
	var b bytes.Buffer
	if code := cli.ExitCode(&b, err); code != 130 || !strings.HasPrefix(b.String(), "Error: interrupted: ") {
		t.Errorf("ExitCode = %d printing %q, want 130 and the interrupt", code, b.String())
	}
}

// TestInterruptLeavesUncancellableOperation: an operation the server does not let clients
// cancel is left alone, and the user is told it goes on.
func TestInterruptLeavesUncancellableOperation(t *testing.T) {
	s, err := waitInterrupted(t, false)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "goes on in the daemon") {
		t.Fatalf("Wait after interrupt = %v, want the operation said to go on", err)
	}
	if got := s.CallLog(); got != "POST /1.0/instances" {
		t.Errorf("calls = %q: an uncancellable operation was cancelled", got)
	}
}
