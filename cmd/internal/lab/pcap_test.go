package lab

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// TestPcapWriterWholeRecords feeds a pcap byte by byte and cut in the middle of the second
// record: only the header and whole records come out.
func TestPcapWriterWholeRecords(t *testing.T) {
	var in bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr, 0xa1b2c3d4)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	in.Write(hdr)
	rec := func(n int) {
		h := make([]byte, 16)
		binary.LittleEndian.PutUint32(h[8:], uint32(n))
		binary.LittleEndian.PutUint32(h[12:], uint32(n))
		in.Write(h)
		in.Write(bytes.Repeat([]byte{0xab}, n))
	}
	rec(60)
	whole := in.Len()
	rec(98)
	stream := in.Bytes()[:in.Len()-10]
	var out bytes.Buffer
	w := &pcapWriter{w: &out}
	for _, b := range stream {
		if _, err := w.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(out.Bytes(), in.Bytes()[:whole]) {
		t.Errorf("wrote %d bytes, want the header and the first record (%d bytes)", out.Len(), whole)
	}
	if _, err := (&pcapWriter{w: &out}).Write(bytes.Repeat([]byte{1}, 24)); err == nil {
		t.Error("a stream that is not pcap was passed on")
	}
}
