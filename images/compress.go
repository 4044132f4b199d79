package images

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// Compression names how an image file is compressed, as detected from its
// first bytes (never from its file name).
type Compression string

// The compressions images come in. Squashfs is recognised so it can be
// refused with a clear error.
const (
	CompressionNone     Compression = "none"
	CompressionGzip     Compression = "gzip"
	CompressionBzip2    Compression = "bzip2"
	CompressionXz       Compression = "xz"
	CompressionLzma     Compression = "lzma"
	CompressionZstd     Compression = "zstd"
	CompressionSquashfs Compression = "squashfs"
)

// Ext returns the usual file name extension for a tarball so compressed.
func (c Compression) Ext() string {
	switch c {
	case CompressionGzip:
		return ".tar.gz"
	case CompressionBzip2:
		return ".tar.bz2"
	case CompressionXz:
		return ".tar.xz"
	case CompressionLzma:
		return ".tar.lzma"
	case CompressionZstd:
		return ".tar.zst"
	case CompressionSquashfs:
		return ".squashfs"
	}
	return ".tar"
}

// maxZstdWindow bounds the memory a (hostile) zstd frame can make us use.
const maxZstdWindow = 128 << 20

// DetectCompression identifies the format from the first bytes of an image
// file (at least 262 bytes are needed to see a plain tar's magic). Unknown
// formats give an error wrapping ErrInvalid.
func DetectCompression(head []byte) (Compression, error) {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return CompressionGzip, nil
	case bytes.HasPrefix(head, []byte("BZh")):
		return CompressionBzip2, nil
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return CompressionXz, nil
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return CompressionZstd, nil
	case bytes.HasPrefix(head, []byte{0x5d, 0x00, 0x00}):
		return CompressionLzma, nil
	case bytes.HasPrefix(head, []byte("hsqs")):
		return CompressionSquashfs, nil
	case len(head) >= 262 && bytes.Equal(head[257:262], []byte("ustar")):
		return CompressionNone, nil
	}
	return "", fmt.Errorf("unknown image file format: %w", ErrInvalid)
}

// openTarball opens an image file and returns its decompressed tar stream.
// Closing the result closes the file.
func openTarball(path string) (io.ReadCloser, Compression, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("open image: %w", err)
	}
	br := bufio.NewReaderSize(f, 1<<16)
	// A short file gives a short head (and io.EOF), which detection rejects.
	head, _ := br.Peek(512)
	c, err := DetectCompression(head)
	if err != nil {
		f.Close()
		return nil, "", fmt.Errorf("image %s: %w", path, err)
	}
	r, err := decompressor(br, c)
	if err != nil {
		f.Close()
		return nil, "", fmt.Errorf("image %s: %w", path, err)
	}
	return &stream{Reader: r, closers: []io.Closer{r, f}}, c, nil
}

// decompressor wraps r in the decoder for c. The result is also an
// io.Closer (a no-op one where the decoder has nothing to release).
func decompressor(r io.Reader, c Compression) (io.ReadCloser, error) {
	switch c {
	case CompressionNone:
		return io.NopCloser(r), nil
	case CompressionGzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gzip: %v: %w", err, ErrInvalid)
		}
		return zr, nil
	case CompressionBzip2:
		return io.NopCloser(bzip2.NewReader(r)), nil
	case CompressionXz:
		xr, err := xz.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("xz: %v: %w", err, ErrInvalid)
		}
		return io.NopCloser(xr), nil
	case CompressionLzma:
		lr, err := lzma.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("lzma: %v: %w", err, ErrInvalid)
		}
		return io.NopCloser(lr), nil
	case CompressionZstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, fmt.Errorf("zstd: %v: %w", err, ErrInvalid)
		}
		return zr.IOReadCloser(), nil
	}
	return nil, fmt.Errorf("%s images are not supported: %w", c, ErrInvalid)
}

// stream is a decompressed reader that closes its decoder and file.
type stream struct {
	io.Reader
	closers []io.Closer
}

// Close releases the decoder, then the file.
func (s *stream) Close() error {
	var first error
	for _, c := range s.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
