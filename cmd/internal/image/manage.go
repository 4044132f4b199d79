package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
	"lite/cmd/internal/progress"
	"lite/cmd/internal/remote"
)

// ImportOptions are the inputs of lite image import.
type ImportOptions struct {
	IO      *cli.IOStreams
	Client  func() (Client, error)
	Files   []string // unified, or metadata then rootfs
	Aliases []string
	Public  bool
}

// NewCmdImport returns `lite image import FILE [ROOTFS] [--alias A]`.
func NewCmdImport(f *cli.Factory) *cobra.Command {
	opts := &ImportOptions{IO: f.IO, Client: func() (Client, error) { return f.API() }}
	cmd := &cobra.Command{
		Use:   "import FILE [ROOTFS] [REMOTE:]",
		Short: "Import an image file (unified) or a metadata tarball and its rootfs (split)",
		Args:  cli.RangeArgs(1, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if last := args[len(args)-1]; len(args) > 1 && strings.HasSuffix(last, ":") {
				get, rest := f.APIFor(last)
				if rest != "" {
					return fmt.Errorf("%q is not a lite server remote (lite remote list shows them): %w", last, api.ErrInvalid)
				}
				opts.Client, args = func() (Client, error) { return get() }, args[:len(args)-1]
			}
			if len(args) > 2 {
				return fmt.Errorf("too many arguments: want FILE [ROOTFS] [REMOTE:]: %w", api.ErrInvalid)
			}
			opts.Files = args
			return RunImport(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringSliceVar(&opts.Aliases, "alias", nil, "alias for the new image (repeatable)")
	cmd.Flags().BoolVar(&opts.Public, "public", false, "mark the image public")
	return cmd
}

// RunImport uploads the files, waits, then adds the aliases. Aliases that already exist are
// refused before anything is uploaded; if adding one fails after all, the image is deleted
// again, so a failed import leaves nothing.
func RunImport(ctx context.Context, opts *ImportOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	for _, f := range opts.Files {
		if st, err := os.Stat(f); err != nil {
			return fmt.Errorf("image file: %w", err)
		} else if !st.Mode().IsRegular() {
			return fmt.Errorf("image file %s is not a regular file", f)
		}
	}
	for _, a := range opts.Aliases {
		if _, err := c.GetImageAlias(ctx, a); err == nil {
			return fmt.Errorf("image alias %q already exists: %w", a, api.ErrAlreadyExists)
		}
	}
	up := client.ImageUpload{Meta: opts.Files[0], Public: opts.Public}
	if len(opts.Files) == 2 {
		up.Rootfs = opts.Files[1]
	}
	o, err := c.CreateImage(ctx, up)
	if err != nil {
		return err
	}
	final, err := progress.Wait(ctx, opts.IO, cli.WrapOperation(o))
	if err != nil {
		return err
	}
	fp, _ := final.Metadata["fingerprint"].(string)
	if fp == "" {
		return fmt.Errorf("the server did not return the new image's fingerprint")
	}
	for _, a := range opts.Aliases {
		if err := c.CreateImageAlias(ctx, api.ImageAliasesPost{ImageAliasesEntry: api.ImageAliasesEntry{Name: a, Target: fp}}); err != nil {
			if dop, derr := c.DeleteImage(ctx, fp); derr == nil {
				_ = dop.Wait(ctx)
			}
			return err
		}
	}
	fmt.Fprintf(opts.IO.Out, "Image imported with fingerprint: %s\n", fp)
	return nil
}

// NewCmdExport returns `lite image export IMAGE [DIR]`.
func NewCmdExport(f *cli.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "export [REMOTE:]IMAGE [TARGET]",
		Short: "Write an image's files, as LXD's lxc image import accepts them",
		Long: "Write an image's files, as LXD's lxc image import accepts them. TARGET (default .) is a directory,\n" +
			"where the files keep the server's names, or else the file to write: a unified image gets its\n" +
			"extension added (out -> out.tar.gz), a split one is written as TARGET and TARGET.root (as LXD does).",
		Args: cli.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, name, err := imageOn(f, args[0])
			if err != nil {
				return err
			}
			target := "."
			if len(args) == 2 {
				target = args[1]
			}
			if st, err := os.Stat(filepath.Dir(target)); err != nil || !st.IsDir() {
				return fmt.Errorf("export target %q: %s is not a directory: %w", target, filepath.Dir(target), api.ErrInvalid)
			}
			img, err := resolve(ctx, c, name)
			if err != nil {
				return err
			}
			files, err := c.ExportImage(ctx, img.Fingerprint, target)
			if err != nil {
				return err
			}
			for _, p := range files {
				fmt.Fprintln(f.IO.Out, p)
			}
			return nil
		},
	}
}

// NewCmdDelete returns `lite image delete IMAGE...`.
func NewCmdDelete(f *cli.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "delete [REMOTE:]IMAGE...",
		Aliases: []string{"rm"},
		Short:   "Delete images (by alias, fingerprint or unique prefix)",
		Args:    cli.MinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			get, names, err := f.APIForAll(args)
			if err != nil {
				return err
			}
			c, err := imageClient(get)
			if err != nil {
				return err
			}
			for _, name := range names {
				img, err := resolve(ctx, c, name)
				if err != nil {
					return err
				}
				o, err := c.DeleteImage(ctx, img.Fingerprint)
				if err != nil {
					return err
				}
				if _, err := progress.Wait(cmd.Context(), f.IO, cli.WrapOperation(o)); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// NewCmdInfo returns `lite image info|show IMAGE`.
func NewCmdInfo(f *cli.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "info [REMOTE:]IMAGE",
		Aliases: []string{"show"},
		Short:   "Show an image (by alias, fingerprint or unique prefix), as YAML",
		Args:    cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, name, err := imageOn(f, args[0])
			if err != nil {
				return err
			}
			img, err := resolve(ctx, c, name)
			if err != nil {
				return err
			}
			return output.PrintYAML(f.IO.Out, img)
		},
	}
}

// NewCmdAlias returns `lite image alias create|delete|list|rename`.
func NewCmdAlias(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "alias", Short: "Manage image aliases", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	var format output.Format
	list := &cobra.Command{Use: "list [REMOTE:]", Aliases: []string{"ls"}, Short: "List aliases", Args: cli.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, rest, err := imageOn(f, strings.Join(args, ""))
			if err == nil && rest != "" {
				err = fmt.Errorf("%q is not a server: want REMOTE: or nothing: %w", args[0], api.ErrInvalid)
			}
			if err != nil {
				return err
			}
			list, err := c.GetImageAliases(ctx)
			if err != nil {
				return err
			}
			d := output.Data{Header: []string{"ALIAS", "FINGERPRINT", "TYPE", "DESCRIPTION"}, Raw: list}
			for _, a := range list {
				d.Rows = append(d.Rows, []string{a.Name, short(a.Target), strings.ToUpper(a.Type), a.Description})
			}
			return output.Print(f.IO.Out, format, d)
		}}
	output.AddFormatFlag(list, &format)
	var desc string
	create := &cobra.Command{Use: "create [REMOTE:]ALIAS IMAGE", Short: "Create an alias", Args: cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, alias, err := imageOn(f, args[0])
			if err != nil {
				return err
			}
			img, err := resolve(ctx, c, args[1])
			if err != nil {
				return err
			}
			return c.CreateImageAlias(ctx, api.ImageAliasesPost{ImageAliasesEntry: api.ImageAliasesEntry{Name: alias, Description: desc, Target: img.Fingerprint}})
		}}
	create.Flags().StringVar(&desc, "description", "", "alias description")
	del := &cobra.Command{Use: "delete [REMOTE:]ALIAS", Aliases: []string{"rm"}, Short: "Delete an alias", Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, alias, err := imageOn(f, args[0])
			if err != nil {
				return err
			}
			return c.DeleteImageAlias(ctx, alias)
		}}
	rename := &cobra.Command{Use: "rename [REMOTE:]ALIAS NEW", Aliases: []string{"mv"}, Short: "Rename an alias", Args: cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, alias, err := imageOn(f, args[0])
			if err != nil {
				return err
			}
			return c.RenameImageAlias(ctx, alias, args[1])
		}}
	cmd.AddCommand(list, create, del, rename)
	return cmd
}

// NewCmdPublish returns `lite publish INSTANCE [--alias A]`.
func NewCmdPublish(f *cli.Factory) *cobra.Command {
	var aliases []string
	var props []string
	cmd := &cobra.Command{
		Use:   "publish [REMOTE:]INSTANCE [key=value...]",
		Short: "Make an image from a stopped instance",
		Args:  cli.MinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, name, err := imageOn(f, args[0])
			if err != nil {
				return err
			}
			if strings.Contains(name, "/") {
				return fmt.Errorf("publishing snapshots is not supported yet: publish the stopped instance: %w", api.ErrInvalid)
			}
			req := api.ImagesPost{Source: &api.ImagesPostSource{Type: "instance", Name: name}}
			req.Properties = map[string]string{}
			for _, kv := range append(props, args[1:]...) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("bad property %q: want key=value: %w", kv, api.ErrInvalid)
				}
				req.Properties[k] = v
			}
			for _, a := range aliases {
				req.Aliases = append(req.Aliases, api.ImageAlias{Name: a})
			}
			o, err := c.CreateImageFromSource(ctx, req)
			if err != nil {
				return err
			}
			final, err := progress.Wait(cmd.Context(), f.IO, cli.WrapOperation(o))
			if err != nil {
				return err
			}
			fp, _ := final.Metadata["fingerprint"].(string)
			if fp == "" {
				return errors.New("the server did not return the new image's fingerprint")
			}
			fmt.Fprintf(f.IO.Out, "Instance published with fingerprint: %s\n", fp)
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&aliases, "alias", nil, "alias for the new image (repeatable)")
	return cmd
}

// short is the 12-digit form of a fingerprint.
func short(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

// NewCmdCopy returns `lite image copy REMOTE:IMAGE local: [--alias A]`: the daemon pulls the
// image from the remote and verifies it.
func NewCmdCopy(f *cli.Factory) *cobra.Command {
	var aliases []string
	cmd := &cobra.Command{
		Use:   "copy [REMOTE:]IMAGE local:|SERVER:",
		Short: "Copy an image from a remote into the local store, or to a lite server remote",
		Args:  cli.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				if dstGet, rest := f.APIFor(args[1]); rest != args[1] && args[1] != "local:" {
					if r, name, ok := imageServer(f, args[0]); ok {
						// From an image server to a lite server: that server pulls it
						// itself and verifies it, as lxc's image copy does.
						c, err := imageClient(dstGet)
						if err != nil {
							return err
						}
						src := &api.ImagesPostSource{Type: "image", Mode: "pull", Server: r.Addr, Protocol: r.Protocol, Alias: name}
						return createFromSource(cmd, f, c, src, aliases, "copied")
					}
					return copyToServer(cmd, f, args[0], args[1], aliases)
				}
			}
			if len(args) == 2 && strings.TrimSuffix(args[1], ":") != "local" {
				return fmt.Errorf("lite can only copy images into local:, not %q: %w", args[1], api.ErrInvalid)
			}
			r, name, err := remote.Split(args[0])
			if err != nil {
				return err
			}
			if r == nil {
				return fmt.Errorf("%q is a local image already: name a remote, e.g. REMOTE:%s: %w", args[0], name, api.ErrInvalid)
			}
			c, err := imageClient(f.API)
			if err != nil {
				return err
			}
			src := &api.ImagesPostSource{Type: "image", Mode: "pull", Server: r.Addr, Protocol: r.Protocol, Alias: name}
			return createFromSource(cmd, f, c, src, aliases, "copied")
		},
	}
	cmd.Flags().StringSliceVar(&aliases, "alias", nil, "alias for the copied image (repeatable)")
	return cmd
}

// imageServer returns the image server (simplestreams) ref names with the image's name on it,
// when ref is not on a lite server.
func imageServer(f *cli.Factory, ref string) (*remote.Remote, string, bool) {
	if _, rest := f.APIFor(ref); rest != ref {
		return nil, "", false // a lite server's image
	}
	r, name, err := remote.Split(ref)
	if err != nil || r == nil || r.Protocol == remote.ProtocolLite {
		return nil, "", false
	}
	return r, name, true
}

// NewCmdBuild returns `lite image build RECIPE [--alias A] [--mirror URL] [--include pkg,pkg]`.
func NewCmdBuild(f *cli.Factory) *cobra.Command {
	var aliases, include []string
	var mirror string
	cmd := &cobra.Command{
		Use:   "build RECIPE",
		Short: "Build an image with debootstrap (debian/11, debian/12, debian/13, ubuntu/22.04, ubuntu/24.04)",
		Long: "Build an image with debootstrap from a recipe. A recipe built before with the same mirror and\n" +
			"packages is reused from the build cache. Ubuntu recipes need lited's --ubuntu-mirror and --ubuntu-keyring.",
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := imageClient(f.API)
			if err != nil {
				return err
			}
			src := &api.ImagesPostSource{Type: "build", Alias: args[0], Mirror: mirror, Include: include}
			return createFromSource(cmd, f, c, src, aliases, "built")
		},
	}
	cmd.Flags().StringSliceVar(&aliases, "alias", nil, "alias for the built image (repeatable)")
	cmd.Flags().StringSliceVar(&include, "include", nil, "extra packages to install (comma-separated)")
	cmd.Flags().StringVar(&mirror, "mirror", "", "archive to build from (default: lited's)")
	return cmd
}

// createFromSource asks lited for an image from src (a remote pull or a build), with aliases,
// waits for it with progress, and says which fingerprint it got ("Image built with ...").
func createFromSource(cmd *cobra.Command, f *cli.Factory, c Client, src *api.ImagesPostSource, aliases []string, done string) error {
	ctx := cmd.Context()
	req := api.ImagesPost{Source: src}
	for _, a := range aliases {
		req.Aliases = append(req.Aliases, api.ImageAlias{Name: a})
	}
	o, err := c.CreateImageFromSource(ctx, req)
	if err != nil {
		return err
	}
	final, err := progress.Wait(cmd.Context(), f.IO, cli.WrapOperation(o))
	if err != nil {
		return err
	}
	fp, _ := final.Metadata["fingerprint"].(string)
	fmt.Fprintf(f.IO.Out, "Image %s with fingerprint: %s\n", done, fp)
	return nil
}
