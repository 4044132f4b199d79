package lab

import (
	"encoding/binary"
	"fmt"
	"io"
)

// pcapWriter passes a pcap stream on in whole records only, so a capture stopped in the
// middle of a packet still leaves a well-formed file. Bytes of a record not yet complete
// wait in buf.
type pcapWriter struct {
	w   io.Writer
	buf []byte
	bo  binary.ByteOrder // nil until the file header has been seen
}

// maxRecord bounds one record (tcpdump's largest snap length, 256 KiB, and its header).
const maxRecord = 262144 + 16

func (p *pcapWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	if p.bo == nil {
		if len(p.buf) < 24 {
			return len(b), nil
		}
		switch binary.LittleEndian.Uint32(p.buf) {
		case 0xa1b2c3d4, 0xa1b23c4d:
			p.bo = binary.LittleEndian
		case 0xd4c3b2a1, 0x4d3cb2a1:
			p.bo = binary.BigEndian
		default:
			return 0, fmt.Errorf("the capture stream is not pcap (magic %x)", p.buf[:4])
		}
		if err := p.flush(24); err != nil {
			return 0, err
		}
	}
	for len(p.buf) >= 16 {
		n := 16 + int(p.bo.Uint32(p.buf[8:]))
		if n > maxRecord {
			return 0, fmt.Errorf("the capture stream has a record of %d bytes: not pcap", n)
		}
		if len(p.buf) < n {
			break
		}
		if err := p.flush(n); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// flush writes the first n buffered bytes.
func (p *pcapWriter) flush(n int) error {
	if _, err := p.w.Write(p.buf[:n]); err != nil {
		return err
	}
	p.buf = append(p.buf[:0], p.buf[n:]...)
	return nil
}
