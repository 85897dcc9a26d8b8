// Package imagingtest holds image fixtures for tests of what takes uploads.
package imagingtest

import (
	"bytes"
	"compress/zlib"
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

// PNGHeaderOf is PNGHeader with a given bit depth (1-16), color type (0
// gray, 2 RGB, 3 paletted, 4 gray and alpha, 6 RGBA) and interlace method
// (0 none, 1 Adam7): PNGHeaderOf(4898, 4898, 16, 6, 0) claims 8 bytes a
// pixel under a 24-megapixel limit.
func PNGHeaderOf(w, h uint32, depth, colorType, interlace byte) []byte {
	var ihdr bytes.Buffer
	ihdr.WriteString("IHDR")
	_ = binary.Write(&ihdr, binary.BigEndian, w)
	_ = binary.Write(&ihdr, binary.BigEndian, h)
	ihdr.Write([]byte{depth, colorType, 0, 0, interlace})
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	_ = binary.Write(&out, binary.BigEndian, uint32(13))
	out.Write(ihdr.Bytes())
	_ = binary.Write(&out, binary.BigEndian, crc32.ChecksumIEEE(ihdr.Bytes()))
	return out.Bytes()
}

// Sampling is a JPEG's chroma subsampling, as the luma component's
// horizontal and vertical sampling factors (chroma takes 1×1).
type Sampling struct{ H, V byte }

// JPEG subsamplings.
var (
	S444 = Sampling{1, 1}
	S422 = Sampling{2, 1}
	S420 = Sampling{2, 2}
)

// JPEG returns a flat mid-grey w×h JPEG of 3 components at sampling s (or
// one, gray), baseline or progressive, in about a bit per 8×8 block: every
// coefficient is zero, coded with one-symbol Huffman tables. A progressive
// one carries only its DC scan, which is all a decoder needs to allocate
// every coefficient. JPEG(4898, 4898, true, S444, false) is a 141 KB file
// that costs the standard decoder about 360 MB.
func JPEG(w, h int, progressive bool, s Sampling, gray bool) []byte {
	var out bytes.Buffer
	seg := func(marker byte, body []byte) {
		out.Write([]byte{0xFF, marker})
		_ = binary.Write(&out, binary.BigEndian, uint16(len(body)+2))
		out.Write(body)
	}
	out.Write([]byte{0xFF, 0xD8})
	seg(0xDB, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)) // one table of 1s
	comps := []Sampling{s, {1, 1}, {1, 1}}
	if gray {
		comps = comps[:1]
	}
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(len(comps))}
	for i, c := range comps {
		sof = append(sof, byte(i+1), c.H<<4|c.V, 0)
	}
	marker := byte(0xC0)
	if progressive {
		marker = 0xC2
	}
	seg(marker, sof)
	// DC table 0 and AC table 0: one symbol each, coded "0": DC size 0
	// (no change), AC EOB (end of block).
	counts := make([]byte, 16)
	counts[0] = 1
	seg(0xC4, append(append([]byte{0x00}, counts...), 0x00))
	seg(0xC4, append(append([]byte{0x10}, counts...), 0x00))
	sos := []byte{byte(len(comps))}
	for i := range comps {
		sos = append(sos, byte(i+1), 0x00)
	}
	blocksPerMCU := 0
	for _, c := range comps {
		blocksPerMCU += int(c.H) * int(c.V)
	}
	if len(comps) == 1 {
		blocksPerMCU, s = 1, Sampling{1, 1}
	}
	mcus := ((w + 8*int(s.H) - 1) / (8 * int(s.H))) * ((h + 8*int(s.V) - 1) / (8 * int(s.V)))
	bitsPerBlock := 2 // baseline: DC "0" and EOB "0"
	if progressive {
		sos = append(sos, 0, 0, 0) // DC first scan: Ss=0, Se=0, Ah=Al=0
		bitsPerBlock = 1
	} else {
		sos = append(sos, 0, 63, 0)
	}
	seg(0xDA, sos)
	bits := mcus * blocksPerMCU * bitsPerBlock
	out.Write(make([]byte, bits/8))
	if bits%8 != 0 {
		out.WriteByte(0xFF >> (bits % 8)) // zero bits, padded with ones
	}
	out.Write([]byte{0xFF, 0xD9})
	return out.Bytes()
}

// PNG returns a whole w×h PNG of the given bit depth and color type (as
// PNGHeaderOf), every pixel zero, its rows deflated as they are made (the
// raw pixels are never held): PNG(4898, 4898, 16, 6) is a 16-bit RGBA image
// of 187 KB that decodes to 8 bytes a pixel, 192 MB, just under a
// 24-megapixel limit. Paletted images (color type 3) are not supported.
func PNG(w, h uint32, depth, colorType byte) []byte {
	channels := map[byte]int{0: 1, 2: 3, 4: 2, 6: 4}[colorType]
	if channels == 0 {
		panic("imagingtest.PNG: color type must be 0, 2, 4 or 6")
	}
	rowBytes := 1 + (int(w)*channels*int(depth)+7)/8 // a filter byte, then the samples
	var idat bytes.Buffer
	idat.WriteString("IDAT")
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	row := make([]byte, rowBytes) // filter 0, zero samples
	for range h {
		_, _ = zw.Write(row)
	}
	_ = zw.Close()
	out := bytes.NewBuffer(PNGHeaderOf(w, h, depth, colorType, 0))
	chunk := func(body []byte) { // body starts with the chunk's type
		_ = binary.Write(out, binary.BigEndian, uint32(len(body)-4))
		out.Write(body)
		_ = binary.Write(out, binary.BigEndian, crc32.ChecksumIEEE(body))
	}
	chunk(idat.Bytes())
	chunk([]byte("IEND"))
	return out.Bytes()
}
