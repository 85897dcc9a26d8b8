// Package imagingtest holds image fixtures for tests of what takes uploads.
package imagingtest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// PNGHeader returns the front of a PNG that claims w×h RGBA pixels: a valid
// signature and IHDR chunk and nothing after, which is all a decoder reads to
// learn the dimensions. PNGHeader(60000, 60000) is a decompression bomb's
// front.
func PNGHeader(w, h uint32) []byte {
	var ihdr bytes.Buffer
	ihdr.WriteString("IHDR")
	_ = binary.Write(&ihdr, binary.BigEndian, w)
	_ = binary.Write(&ihdr, binary.BigEndian, h)
	ihdr.Write([]byte{8, 6, 0, 0, 0}) // 8-bit RGBA, no interlace
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	_ = binary.Write(&out, binary.BigEndian, uint32(13))
	out.Write(ihdr.Bytes())
	_ = binary.Write(&out, binary.BigEndian, crc32.ChecksumIEEE(ihdr.Bytes()))
	return out.Bytes()
}
