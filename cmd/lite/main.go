// Command lite is the command-line client of lited.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"lite/client"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/root"
)

func main() {
	// Ctrl-C (or SIGTERM) ends the command's context: a wait stops and the operation is
	// cancelled where the server allows it. After the first signal the default action is back,
	// so a second Ctrl-C kills lite at once. lite exec forwards these signals to its command
	// instead (it subscribes to them itself).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := root.Main(ctx, os.Args[1:], cli.System(), client.Connect)
	stop()
	os.Exit(code)
}
