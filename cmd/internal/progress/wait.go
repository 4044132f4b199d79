package progress

import (
	"context"

	"lite/client/api"
	"lite/cmd/internal/cli"
)

// Wait waits for op, showing its progress on stderr while stderr is a terminal.
func Wait(ctx context.Context, ios *cli.IOStreams, op cli.Operation) (api.Operation, error) {
	line := New(ios.ErrOut, ios.ErrTTY)
	if ios.ErrTTY && ios.Terminal != nil {
		if w, _, err := ios.Terminal.Size(); err == nil {
			line.Width = w
		}
	}
	final, err := op.Wait(ctx, line.Update)
	line.Done()
	return final, err
}
