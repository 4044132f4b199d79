package image

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/progress"
)

// copyToServer copies an image from the source server (local, or a lite remote) to a lite
// server remote: exported once into a private temp dir and uploaded, where the receiver
// checks it as any upload. An image the target already has (same fingerprint) is not sent
// again; only the aliases are added.
func copyToServer(cmd *cobra.Command, f *cli.Factory, srcRef, dstRef string, aliases []string) error {
	ctx := cmd.Context()
	srcGet, name := f.APIFor(srcRef)
	dstGet, rest := f.APIFor(dstRef)
	if rest != "" {
		return fmt.Errorf("the target %q must be a server (REMOTE:), images keep their fingerprint: %w", dstRef, api.ErrInvalid)
	}
	src, err := imageClient(srcGet)
	if err != nil {
		return err
	}
	dst, err := imageClient(dstGet)
	if err != nil {
		return err
	}
	img, err := resolve(ctx, src, name)
	if err != nil {
		return err
	}
	if err := Ensure(ctx, f.IO, src, dst, img); err != nil {
		return err
	}
	for _, a := range aliases {
		if err := dst.CreateImageAlias(ctx, api.ImageAliasesPost{ImageAliasesEntry: api.ImageAliasesEntry{Name: a, Target: img.Fingerprint}}); err != nil {
			return fmt.Errorf("alias %q on the target: %w", a, err)
		}
	}
	fmt.Fprintf(f.IO.Out, "Image copied with fingerprint: %s\n", img.Fingerprint)
	return nil
}

// Ensure copies img from src to dst unless dst has it already (same fingerprint).
func Ensure(ctx context.Context, ios *cli.IOStreams, src, dst Client, img *api.Image) error {
	if _, err := dst.GetImage(ctx, img.Fingerprint); !errors.Is(err, api.ErrNotFound) {
		return err
	}
	return sendImage(ctx, ios, src, dst, img)
}

func sendImage(ctx context.Context, ios *cli.IOStreams, src, dst Client, img *api.Image) error {
	tmp, err := os.MkdirTemp("", "lite-image-copy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	files, err := src.ExportImage(ctx, img.Fingerprint, tmp)
	if err != nil {
		return err
	}
	up := client.ImageUpload{Meta: files[0], Properties: img.Properties, Public: img.Public}
	if len(files) > 1 {
		up.Rootfs = files[1]
	}
	o, err := dst.CreateImage(ctx, up)
	if err != nil {
		return err
	}
	final, err := progress.Wait(ctx, ios, cli.WrapOperation(o))
	if err != nil {
		return err
	}
	if fp, _ := final.Metadata["fingerprint"].(string); fp != img.Fingerprint {
		return fmt.Errorf("the target stored the image as %s, not %s: %w", fp, img.Fingerprint, api.ErrInternal)
	}
	return nil
}
