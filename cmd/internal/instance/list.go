package instance

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
)

// ListOptions are the inputs of lite list.
type ListOptions struct {
	IO     *cli.IOStreams
	Client func() (cli.Client, error)

	Filters  []string
	Columns  string
	Format   output.Format
	Location *time.Location // for the time columns; time.Local when nil
}

// remoteArg is a bare "REMOTE:" argument (a filter such as ipv6=fd00:: is not one).
var remoteArg = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]*:$`)

// NewCmdList returns `lite list`; runF replaces RunList in tests.
func NewCmdList(f *cli.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IO, Client: f.Client}
	cmd := &cobra.Command{
		Use:     "list [FILTER...]",
		Aliases: []string{"ls"},
		Short:   "List instances",
		Long: `List instances, optionally filtered.

A filter is a name prefix or regular expression, or KEY=VALUE on a field
(status=running, type=container), on ipv4/ipv6 (an address or subnet), or on a
config key (user.role=db, image.os=debian). All filters must match.

Columns (-c), default ` + DefaultColumns + `:
  n NAME  s STATE  4 IPV4  6 IPV6  t TYPE  S SNAPSHOTS  a ARCHITECTURE
  c CREATED AT  l LAST USED AT  p PID  P PROFILES  b STORAGE POOL
  m MEMORY USAGE  M MEMORY USAGE%  u CPU USAGE  D DISK USAGE  N PROCESSES
  d DESCRIPTION  L LOCATION (shown by default when the server is clustered)`,
		Example: "  lite list\n  lite list status=running -c ns4\n  lite list web --format json",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Filters = args
			if len(args) > 0 && remoteArg.MatchString(args[0]) {
				c, rest := f.For(args[0])
				switch {
				case rest == "":
					opts.Client, opts.Filters = c, args[1:]
				case args[0] == "local:":
					opts.Filters = args[1:]
				default:
					return fmt.Errorf("no lite server remote called %q (lite remote list shows them): %w", strings.TrimSuffix(args[0], ":"), api.ErrNotFound)
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunList(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Columns, "columns", "c", DefaultColumns, "columns to show, as shorthand letters")
	output.AddFormatFlag(cmd, &opts.Format)
	return cmd
}

// RunList prints the instances that pass the filters.
func RunList(ctx context.Context, opts *ListOptions) error {
	cols, err := parseColumns(opts.Columns)
	if err != nil {
		return err
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	all, err := c.GetInstances(ctx, "")
	if err != nil {
		return err
	}
	if opts.Columns == DefaultColumns && clustered(all) {
		cols = append(cols, columns['L']) // as lxc: the member of each instance
	}
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}

	shown := []api.InstanceFull{}
	for n := range all {
		if matches(&all[n], opts.Filters) {
			shown = append(shown, all[n])
		}
	}
	sort.SliceStable(shown, func(x, y int) bool { return shown[x].Name < shown[y].Name })

	data := output.Data{Raw: shown}
	for _, col := range cols {
		data.Header = append(data.Header, col.header)
	}
	for n := range shown {
		row := make([]string, len(cols))
		for c, col := range cols {
			row[c] = col.cell(&shown[n], loc)
		}
		data.Rows = append(data.Rows, row)
	}
	return output.Print(opts.IO.Out, opts.Format, data)
}
