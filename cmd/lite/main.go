// Command lite is the command-line client of lited.
package main

import (
	"os"

	"lite/cmd/internal/cli"
	"lite/cmd/internal/root"
)

func main() {
	os.Exit(root.Main(os.Args[1:], cli.System(), cli.Connect))
}
