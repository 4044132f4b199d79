package images

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// holeChunk is the unit in which copySparse looks for zeros: runs of zero bytes this long,
// aligned to it, become holes.
const holeChunk = 32 << 10

var zeroChunk = make([]byte, holeChunk)

// copySparse copies size bytes from r to the start of the new, empty file f, leaving holes
// where the data is zero: tarballs (and the overlay's merged view they are packed from) do not
// say where a sparse file's holes were, and a 1 GiB sparse file in a container must not take
// 1 GiB in a layer or a restored backup.
func copySparse(f *os.File, r io.Reader, size int64) error {
	buf := make([]byte, holeChunk)
	var off int64
	for off < size {
		n := int64(len(buf))
		if size-off < n {
			n = size - off
		}
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return err
		}
		if n == holeChunk && bytes.Equal(buf, zeroChunk) {
			off += n
			continue
		}
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			return err
		}
		off += n
	}
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("set size: %w", err)
	}
	return nil
}
