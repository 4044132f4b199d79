package remote

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
)

// NewCmdRemote returns `lite remote add|list|remove|rename|set-url|get-default|switch`.
func NewCmdRemote(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "remote", Short: "Manage remotes: lite servers (over HTTPS) and image servers (simplestreams)", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	var protocol, token string
	add := &cobra.Command{Use: "add NAME TOKEN | NAME https://ADDR[:PORT] --token TOKEN | NAME URL",
		Short: "Add a remote: a lite server by a token from \"lite config trust add\" (at the token's addresses or at a URL), or an image server by URL",
		Example: "  lite remote add host2 TOKEN\n  lite remote add host2 https://10.0.0.2:8443 --token TOKEN\n" +
			"  lite remote add host2 https://10.0.0.2 --protocol lite     (asks for the token)\n  lite remote add mirror https://images.example/ --protocol simplestreams",
		Args: cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !strings.Contains(args[1], "://") {
				if token != "" {
					return fmt.Errorf("--token goes with a server URL (https://ADDR[:PORT]), not a token: %w", api.ErrInvalid)
				}
				return Join(cmd.Context(), args[0], args[1])
			}
			if token != "" || protocol == ProtocolLite {
				if token == "" {
					var err error
					if token, err = askToken(f.IO, args[0]); err != nil {
						return err
					}
				}
				return JoinAt(cmd.Context(), args[0], args[1], token)
			}
			return edit(func(c *Config, args []string) error { return c.Add(args[0], args[1], protocol) })(cmd, args)
		}}
	add.Flags().StringVar(&protocol, "protocol", "simplestreams", "server protocol: simplestreams (an image server), or lite (a lite server: the token is asked for)")
	add.Flags().StringVar(&token, "token", "", "join token from \"lite config trust add\" on the server (with a server URL)")
	remove := &cobra.Command{Use: "remove NAME", Aliases: []string{"rm"}, Short: "Remove a remote", Args: cli.ExactArgs(1),
		RunE: edit(func(c *Config, args []string) error { return c.Remove(args[0]) })}
	rename := &cobra.Command{Use: "rename OLD NEW", Aliases: []string{"mv"}, Short: "Rename a remote", Args: cli.ExactArgs(2),
		RunE: edit(func(c *Config, args []string) error { return c.Rename(args[0], args[1]) })}
	setURL := &cobra.Command{Use: "set-url NAME URL", Short: "Point a remote (built-in ones too) at another URL", Args: cli.ExactArgs(2),
		RunE: edit(func(c *Config, args []string) error { return c.SetURL(args[0], args[1]) })}
	switchCmd := &cobra.Command{Use: "switch NAME", Short: "Make a remote the default: a lite server for every command without REMOTE:, an image server for bare image names", Args: cli.ExactArgs(1),
		RunE: edit(func(c *Config, args []string) error { return c.Switch(args[0]) })}
	getDefault := &cobra.Command{Use: "get-default", Short: "Show the default remote", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := Load()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(f.IO.Out, c.DefaultRemote)
			return err
		}}
	cmd.AddCommand(add, newCmdList(f), remove, rename, setURL, switchCmd, getDefault)
	return cmd
}

// askToken reads the join token for a lite server remote from stdin.
func askToken(ios *cli.IOStreams, name string) (string, error) {
	fmt.Fprintf(ios.Out, "Join token for %s (from \"lite config trust add\" on it): ", name)
	line, err := bufio.NewReader(ios.In).ReadString('\n')
	token := strings.TrimSpace(line)
	if token == "" {
		return "", fmt.Errorf("no join token given for %s: pass --token, or type it when asked: %w", name, api.ErrInvalid)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return token, nil
}

// edit runs a change on the config file and saves it.
func edit(change func(c *Config, args []string) error) func(*cobra.Command, []string) error {
	return func(_ *cobra.Command, args []string) error {
		c, err := Load()
		if err != nil {
			return err
		}
		if err := change(c, args); err != nil {
			return err
		}
		return c.Save()
	}
}

// newCmdList returns `lite remote list`: local first, then the remotes by name; the default
// is marked "(current)" and built-in ones STATIC as in LXD.
func newCmdList(f *cli.Factory) *cobra.Command {
	var format output.Format
	list := &cobra.Command{Use: "list", Aliases: []string{"ls"}, Short: "List remotes", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := Load()
			if err != nil {
				return err
			}
			label := func(name string) string {
				if name == c.DefaultRemote {
					return name + " (current)"
				}
				return name
			}
			raw := map[string]listed{LocalName: {Addr: "unix://", Protocol: "lite", Static: true}}
			d := output.Data{Header: []string{"NAME", "URL", "PROTOCOL", "STATIC"}, Raw: raw}
			d.Rows = append(d.Rows, []string{label(LocalName), "unix://", "lite", "YES"})
			for _, n := range c.Names() {
				r := c.Remotes[n]
				raw[n] = listed{Addr: r.Addr, Protocol: r.Protocol, Public: true, Static: static[n]}
				st := "NO"
				if static[n] {
					st = "YES"
				}
				d.Rows = append(d.Rows, []string{label(n), r.Addr, r.Protocol, st})
			}
			return output.Print(f.IO.Out, format, d)
		}}
	output.AddFormatFlag(list, &format)
	return list
}

// listed is a remote as `lite remote list --format json|yaml` shows it (LXD's field names).
type listed struct {
	Addr     string `json:"addr" yaml:"addr"`
	Protocol string `json:"protocol" yaml:"protocol"`
	Public   bool   `json:"public" yaml:"public"`
	Static   bool   `json:"static" yaml:"static"`
}
