package remote

import (
	"bufio"
	"context"
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
	cmd.AddCommand(NewCmdAdd(f, nil), NewCmdList(f, nil), NewCmdRemove(f, nil), NewCmdRename(f, nil),
		NewCmdSetURL(f, nil), NewCmdSwitch(f, nil), NewCmdGetDefault(f, nil))
	return cmd
}

// run calls runF when a test gave one, else the command's own run function.
func run[O any](ctx context.Context, opts *O, runF, own func(context.Context, *O) error) error {
	if runF != nil {
		return runF(ctx, opts)
	}
	return own(ctx, opts)
}

// edit runs a change on the config file and saves it.
func edit(change func(c *Config) error) error {
	c, err := Load()
	if err != nil {
		return err
	}
	if err := change(c); err != nil {
		return err
	}
	return c.Save()
}

// AddOptions are the inputs of lite remote add.
type AddOptions struct {
	IO *cli.IOStreams

	Name     string
	Target   string // an image server's URL, a lite server's URL, or a join token of a lite server
	Protocol string
	Token    string // with a lite server's URL
}

// NewCmdAdd returns `lite remote add NAME TOKEN|URL`; runF replaces RunAdd in tests.
func NewCmdAdd(f *cli.Factory, runF func(context.Context, *AddOptions) error) *cobra.Command {
	opts := &AddOptions{IO: f.IO}
	cmd := &cobra.Command{Use: "add NAME TOKEN | NAME https://ADDR[:PORT] --token TOKEN | NAME URL",
		Short: "Add a remote: a lite server by a token from \"lite config trust add\" (at the token's addresses or at a URL), or an image server by URL",
		Example: "  lite remote add host2 TOKEN\n  lite remote add host2 https://10.0.0.2:8443 --token TOKEN\n" +
			"  lite remote add host2 https://10.0.0.2 --protocol lite     (asks for the token)\n  lite remote add mirror https://images.example/ --protocol simplestreams",
		Args: cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name, opts.Target = args[0], args[1]
			return run(cmd.Context(), opts, runF, RunAdd)
		}}
	cmd.Flags().StringVar(&opts.Protocol, "protocol", "simplestreams", "server protocol: simplestreams (an image server), or lite (a lite server: the token is asked for)")
	cmd.Flags().StringVar(&opts.Token, "token", "", "join token from \"lite config trust add\" on the server (with a server URL)")
	return cmd
}

// RunAdd adds a remote: a lite server joined by a token (at the token's addresses or at a
// URL given), or an image server by URL.
func RunAdd(ctx context.Context, opts *AddOptions) error {
	if !strings.Contains(opts.Target, "://") {
		if opts.Token != "" {
			return fmt.Errorf("--token goes with a server URL (https://ADDR[:PORT]), not a token: %w", api.ErrInvalid)
		}
		return Join(ctx, opts.Name, opts.Target)
	}
	if opts.Token != "" || opts.Protocol == ProtocolLite {
		token := opts.Token
		if token == "" {
			var err error
			if token, err = askToken(opts.IO, opts.Name); err != nil {
				return err
			}
		}
		return JoinAt(ctx, opts.Name, opts.Target, token)
	}
	return edit(func(c *Config) error { return c.Add(opts.Name, opts.Target, opts.Protocol) })
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

// RemoveOptions are the inputs of lite remote remove.
type RemoveOptions struct {
	IO   *cli.IOStreams
	Name string
}

// NewCmdRemove returns `lite remote remove NAME`; runF replaces RunRemove in tests.
func NewCmdRemove(f *cli.Factory, runF func(context.Context, *RemoveOptions) error) *cobra.Command {
	opts := &RemoveOptions{IO: f.IO}
	return &cobra.Command{Use: "remove NAME", Aliases: []string{"rm"}, Short: "Remove a remote", Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			return run(cmd.Context(), opts, runF, RunRemove)
		}}
}

// RunRemove removes the remote.
func RunRemove(_ context.Context, opts *RemoveOptions) error {
	return edit(func(c *Config) error { return c.Remove(opts.Name) })
}

// RenameOptions are the inputs of lite remote rename.
type RenameOptions struct {
	IO        *cli.IOStreams
	Name, New string
}

// NewCmdRename returns `lite remote rename OLD NEW`; runF replaces RunRename in tests.
func NewCmdRename(f *cli.Factory, runF func(context.Context, *RenameOptions) error) *cobra.Command {
	opts := &RenameOptions{IO: f.IO}
	return &cobra.Command{Use: "rename OLD NEW", Aliases: []string{"mv"}, Short: "Rename a remote", Args: cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name, opts.New = args[0], args[1]
			return run(cmd.Context(), opts, runF, RunRename)
		}}
}

// RunRename renames the remote.
func RunRename(_ context.Context, opts *RenameOptions) error {
	return edit(func(c *Config) error { return c.Rename(opts.Name, opts.New) })
}

// SetURLOptions are the inputs of lite remote set-url.
type SetURLOptions struct {
	IO        *cli.IOStreams
	Name, URL string
}

// NewCmdSetURL returns `lite remote set-url NAME URL`; runF replaces RunSetURL in tests.
func NewCmdSetURL(f *cli.Factory, runF func(context.Context, *SetURLOptions) error) *cobra.Command {
	opts := &SetURLOptions{IO: f.IO}
	return &cobra.Command{Use: "set-url NAME URL", Short: "Point a remote (built-in ones too) at another URL", Args: cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name, opts.URL = args[0], args[1]
			return run(cmd.Context(), opts, runF, RunSetURL)
		}}
}

// RunSetURL points the remote at URL.
func RunSetURL(_ context.Context, opts *SetURLOptions) error {
	return edit(func(c *Config) error { return c.SetURL(opts.Name, opts.URL) })
}

// SwitchOptions are the inputs of lite remote switch.
type SwitchOptions struct {
	IO   *cli.IOStreams
	Name string
}

// NewCmdSwitch returns `lite remote switch NAME`; runF replaces RunSwitch in tests.
func NewCmdSwitch(f *cli.Factory, runF func(context.Context, *SwitchOptions) error) *cobra.Command {
	opts := &SwitchOptions{IO: f.IO}
	return &cobra.Command{Use: "switch NAME", Short: "Make a remote the default: a lite server for every command without REMOTE:, an image server for bare image names", Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			return run(cmd.Context(), opts, runF, RunSwitch)
		}}
}

// RunSwitch makes the remote the default.
func RunSwitch(_ context.Context, opts *SwitchOptions) error {
	return edit(func(c *Config) error { return c.Switch(opts.Name) })
}

// GetDefaultOptions are the inputs of lite remote get-default.
type GetDefaultOptions struct {
	IO *cli.IOStreams
}

// NewCmdGetDefault returns `lite remote get-default`; runF replaces RunGetDefault in tests.
func NewCmdGetDefault(f *cli.Factory, runF func(context.Context, *GetDefaultOptions) error) *cobra.Command {
	opts := &GetDefaultOptions{IO: f.IO}
	return &cobra.Command{Use: "get-default", Short: "Show the default remote", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), opts, runF, RunGetDefault) }}
}

// RunGetDefault prints the default remote.
func RunGetDefault(_ context.Context, opts *GetDefaultOptions) error {
	c, err := Load()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(opts.IO.Out, c.DefaultRemote)
	return err
}

// ListOptions are the inputs of lite remote list.
type ListOptions struct {
	IO     *cli.IOStreams
	Format output.Format
}

// NewCmdList returns `lite remote list`; runF replaces RunList in tests.
func NewCmdList(f *cli.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IO}
	list := &cobra.Command{Use: "list", Aliases: []string{"ls"}, Short: "List remotes", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), opts, runF, RunList) }}
	output.AddFormatFlag(list, &opts.Format)
	return list
}

// RunList lists the remotes: local first, then the others by name; the default is marked
// "(current)" and built-in ones STATIC as in LXD.
func RunList(_ context.Context, opts *ListOptions) error {
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
	return output.Print(opts.IO.Out, opts.Format, d)
}

// listed is a remote as `lite remote list --format json|yaml` shows it (LXD's field names).
type listed struct {
	Addr     string `json:"addr" yaml:"addr"`
	Protocol string `json:"protocol" yaml:"protocol"`
	Public   bool   `json:"public" yaml:"public"`
	Static   bool   `json:"static" yaml:"static"`
}
