// Package image holds the lite image commands.
package image

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
)

// NewCmdImage returns the `lite image` command group.
func NewCmdImage(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage images",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(NewCmdList(f, nil), NewCmdImport(f), NewCmdExport(f), NewCmdDelete(f), NewCmdInfo(f), NewCmdAlias(f), NewCmdCopy(f), NewCmdBuild(f))
	return cmd
}

// ListOptions are the inputs of lite image list.
type ListOptions struct {
	IO     *cli.IOStreams
	Client func() (cli.Client, error)

	Format   output.Format
	Location *time.Location // for the upload date; time.Local when nil
}

// NewCmdList returns `lite image list`; runF replaces RunList in tests.
func NewCmdList(f *cli.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IO, Client: f.Client}
	cmd := &cobra.Command{
		Use:     "list [SERVER:]",
		Aliases: []string{"ls"},
		Short:   "List the images of the local daemon (or of a lite server remote)",
		Args:    cli.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				get, rest := f.For(args[0])
				if rest != "" && args[0] != "local:" {
					return fmt.Errorf("lite image list takes a server (REMOTE:), not %q: %w", args[0], api.ErrInvalid)
				}
				opts.Client = get
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunList(cmd.Context(), opts)
		},
	}
	output.AddFormatFlag(cmd, &opts.Format)
	return cmd
}

// uploadLayout is how lxc image list shows the upload date.
const uploadLayout = "Jan 2, 2006 at 3:04pm (MST)"

// RunList prints the local images, aliased ones first.
func RunList(ctx context.Context, opts *ListOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	images, err := c.GetImages(ctx)
	if err != nil {
		return err
	}
	if images == nil {
		images = []api.Image{}
	}
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	sort.SliceStable(images, func(x, y int) bool {
		ax, ay := aliasCell(&images[x]), aliasCell(&images[y])
		if (ax == "") != (ay == "") {
			return ax != ""
		}
		if ax != ay {
			return ax < ay
		}
		return images[x].Fingerprint < images[y].Fingerprint
	})
	data := output.Data{
		Header: []string{"ALIAS", "FINGERPRINT", "DESCRIPTION", "ARCHITECTURE", "TYPE", "SIZE", "UPLOAD DATE"},
		Raw:    images,
	}
	for n := range images {
		img := &images[n]
		fp := img.Fingerprint
		if len(fp) > 12 {
			fp = fp[:12]
		}
		kind := strings.ToUpper(img.Type)
		if kind == "" {
			kind = "CONTAINER"
		}
		uploaded := ""
		if !img.UploadedAt.IsZero() && img.UploadedAt.Unix() > 0 {
			uploaded = img.UploadedAt.In(loc).Format(uploadLayout)
		}
		data.Rows = append(data.Rows, []string{
			aliasCell(img), fp, img.Properties["description"], img.Architecture, kind, output.IEC(img.Size), uploaded,
		})
	}
	return output.Print(opts.IO.Out, opts.Format, data)
}

// aliasCell shows the shortest alias, and how many others there are.
func aliasCell(img *api.Image) string {
	if len(img.Aliases) == 0 {
		return ""
	}
	names := make([]string, len(img.Aliases))
	for n, a := range img.Aliases {
		names[n] = a.Name
	}
	sort.Slice(names, func(x, y int) bool {
		if len(names[x]) != len(names[y]) {
			return len(names[x]) < len(names[y])
		}
		return names[x] < names[y]
	})
	if len(names) == 1 {
		return names[0]
	}
	return fmt.Sprintf("%s (%d more)", names[0], len(names)-1)
}
