package images

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// openPart opens one image file as a tar stream. A squashfs file (a split
// image's rootfs) is extracted with Debian's unsquashfs into scratch (which
// must not exist; it is removed when the stream is closed) and streamed back
// as a tar, so every entry goes through the same checks, shifting and
// limits as a tarball's.
func openPart(ctx context.Context, path, scratch string) (io.ReadCloser, error) {
	head, err := readHead(path)
	if err != nil {
		return nil, fmt.Errorf("open image: %w", err)
	}
	c, err := DetectCompression(head)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", path, err)
	}
	if c != CompressionSquashfs {
		rc, _, err := openTarball(path)
		return rc, err
	}
	return openSquashfs(ctx, path, scratch)
}

// openSquashfs extracts a squashfs image and returns its tree as a tar stream.
func openSquashfs(ctx context.Context, path, scratch string) (io.ReadCloser, error) {
	if _, err := exec.LookPath("unsquashfs"); err != nil {
		return nil, fmt.Errorf("squashfs image %s: unsquashfs not found (install Debian's squashfs-tools): %w", path, ErrInvalid)
	}
	if err := os.RemoveAll(scratch); err != nil {
		return nil, fmt.Errorf("squashfs: %w", err)
	}
	// -n: no progress bar; -d: extract into scratch (created by unsquashfs).
	// unsquashfs (4.5+) refuses names with "/" or ".." in a directory
	// entry, so nothing lands outside scratch.
	cmd := exec.CommandContext(ctx, "unsquashfs", "-n", "-d", scratch, path)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(scratch)
		return nil, fmt.Errorf("unsquashfs %s: %v: %s: %w", path, err, lastLine(string(out)), ErrInvalid)
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		p := &packer{ctx: ctx, tw: tw, links: map[fileID]string{}}
		err := p.tree(scratch, ".")
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return &squashStream{PipeReader: pr, scratch: scratch}, nil
}

// squashStream removes the extracted tree once the tar stream is closed.
type squashStream struct {
	*io.PipeReader
	scratch string
}

// Close stops the packer and removes the extracted tree.
func (s *squashStream) Close() error {
	// Drain so the packing goroutine finishes before the tree goes away.
	_, _ = io.Copy(io.Discard, s.PipeReader)
	s.PipeReader.Close()
	return os.RemoveAll(s.scratch)
}

// lastLine returns the last non-empty line of a command's output.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
