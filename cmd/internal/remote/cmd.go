package remote

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
)

// NewCmdRemote returns `lite remote add|list|remove`.
func NewCmdRemote(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "remote", Short: "Manage image remotes (simplestreams servers)", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	var protocol string
	add := &cobra.Command{Use: "add NAME URL|TOKEN", Short: "Add a remote: an image server by URL, or a lite server by a token from \"lite config trust add\"", Args: cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !strings.Contains(args[1], "://") {
				return Join(args[0], args[1])
			}
			c, err := Load()
			if err != nil {
				return err
			}
			if err := c.Add(args[0], args[1], protocol); err != nil {
				return err
			}
			return c.Save()
		}}
	add.Flags().StringVar(&protocol, "protocol", "simplestreams", "server protocol (simplestreams)")
	var format output.Format
	list := &cobra.Command{Use: "list", Aliases: []string{"ls"}, Short: "List remotes", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := Load()
			if err != nil {
				return err
			}
			d := output.Data{Header: []string{"NAME", "URL", "PROTOCOL"}, Raw: c.Remotes}
			d.Rows = append(d.Rows, []string{"local (current)", "unix://", "lite"})
			for _, n := range c.Names() {
				d.Rows = append(d.Rows, []string{n, c.Remotes[n].Addr, c.Remotes[n].Protocol})
			}
			return output.Print(f.IO.Out, format, d)
		}}
	output.AddFormatFlag(list, &format)
	remove := &cobra.Command{Use: "remove NAME", Aliases: []string{"rm"}, Short: "Remove a remote", Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := Load()
			if err != nil {
				return err
			}
			if _, ok := c.Remotes[args[0]]; !ok {
				return fmt.Errorf("remote %q not found: %w", args[0], api.ErrNotFound)
			}
			delete(c.Remotes, args[0])
			return c.Save()
		}}
	cmd.AddCommand(add, list, remove)
	return cmd
}
