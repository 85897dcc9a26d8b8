package imaging

import (
	"encoding/binary"
	"errors"
)

// What decoding an image costs in memory, estimated from its headers before
// any pixel is read: the pixel limit alone lets a 141 KB progressive
// 4898×4898 4:4:4 JPEG make the standard decoder allocate about 360 MB (15
// bytes a pixel), and a 16-bit PNG 8 bytes a pixel. The estimates follow
// what the decoders allocate (image/jpeg, image/png, image/gif,
// x/image/webp); a test holds them to a real decode's allocations.

// overhead is what every avatar of a w×h image costs beside the decoded
// image: the size×size RGBA it is scaled into, the scaler's two-pass buffer
// (size columns by the rows of the square it scales, of [4]float64, 32
// bytes each), and the JPEG encoder's buffers. A square of more than four
// times size on a side is box-filtered first (see square): to n×n, n
// between two and three times size, an RGBA of n×n and a row of sums, and
// the scaler scales that.
func overhead(size, w, h int) int64 {
	rows, shrunk := int64(min(w, h)), int64(0)
	if k := int64(shrinkFactor(int(rows), size)); k > 1 {
		rows /= k
		shrunk = 4*rows*rows + 32*rows // the shrunk square and its row of sums
	}
	return 4*int64(size)*int64(size) + 32*int64(size)*rows + shrunk + 1<<20
}

var errNoFrame = errors.New("no frame header")

// decodeCost estimates the bytes decoding data (of the sniffed type, w×h
// pixels by its config) allocates.
func decodeCost(contentType string, data []byte, w, h int) (int64, error) {
	px := int64(w) * int64(h)
	switch contentType {
	case "image/jpeg":
		return jpegCost(data)
	case "image/png":
		return pngCost(data, w, h)
	case "image/gif":
		// The first frame, which lies within the screen: one byte a pixel.
		return px + 64<<10, nil
	case "image/webp":
		// Lossy: Y'CbCr 4:2:0 and an alpha plane (2.5 bytes a pixel);
		// lossless (VP8L, or an extended file that may hold it): the
		// decoder's ARGB words, its transforms' and the NRGBA image.
		if len(data) >= 16 && string(data[12:16]) == "VP8 " {
			return px*3 + 64<<10, nil
		}
		return px*12 + 64<<10, nil
	}
	return 0, errNoFrame
}

// jpegCost reads a JPEG's frame header (SOF0, SOF1 or SOF2): image/jpeg
// allocates a plane of one byte a sample for each component, padded to
// whole MCUs (so subsampled chroma costs less), and, for a progressive
// image, 64 int32 coefficients for each 8×8 block of every component
// besides: 4 more bytes a sample. A CMYK or YCCK image (4 components) is
// converted to a CMYK image of 4 bytes a pixel.
func jpegCost(data []byte) (int64, error) {
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return 0, errNoFrame
		}
		marker := data[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD7: // no length
			i += 2
			continue
		case marker == 0xD9 || marker == 0xDA: // EOI or SOS before a frame
			return 0, errNoFrame
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return 0, errNoFrame
		}
		if marker == 0xC0 || marker == 0xC1 || marker == 0xC2 {
			return sofCost(data[i+4:i+2+n], marker == 0xC2)
		}
		i += 2 + n
	}
	return 0, errNoFrame
}

func sofCost(sof []byte, progressive bool) (int64, error) {
	if len(sof) < 6 {
		return 0, errNoFrame
	}
	h, w, nc := int64(binary.BigEndian.Uint16(sof[1:])), int64(binary.BigEndian.Uint16(sof[3:])), int(sof[5])
	if nc < 1 || nc > 4 || len(sof) < 6+3*nc {
		return 0, errNoFrame
	}
	var hmax, vmax, units int64 = 1, 1, 0
	for c := 0; c < nc; c++ {
		hv := sof[6+3*c+1]
		hc, vc := int64(max(hv>>4, 1)), int64(max(hv&0x0F, 1))
		hmax, vmax = max(hmax, hc), max(vmax, vc)
		units += hc * vc
	}
	if nc == 1 {
		hmax, vmax, units = 1, 1, 1 // a single component is never subsampled
	}
	mcus := ((w + 8*hmax - 1) / (8 * hmax)) * ((h + 8*vmax - 1) / (8 * vmax))
	blocks := mcus * units
	cost := blocks * 64 // one byte a sample
	if progressive {
		cost += blocks * 64 * 4 // an int32 coefficient a sample
	}
	if nc == 4 {
		cost += 4 * w * h
	}
	return cost + 64<<10, nil
}

// pngCost reads a PNG's header (and its chunks up to the first IDAT, for
// transparency): image/png allocates an image of the bytes a pixel its
// color type and bit depth decode to, and an interlaced one a sub-image
// per pass besides.
func pngCost(data []byte, w, h int) (int64, error) {
	if len(data) < 33 {
		return 0, errNoFrame
	}
	depth, colorType, interlaced := data[24], data[25], data[28] == 1
	transparent := false
	for i := 33; i+8 <= len(data); {
		n := int64(binary.BigEndian.Uint32(data[i:]))
		kind := string(data[i+4 : i+8])
		if kind == "IDAT" {
			break
		}
		if kind == "tRNS" {
			transparent = true
		}
		if n > int64(len(data)) {
			break
		}
		i += 12 + int(n)
	}
	var bpp int64
	switch colorType {
	case 3: // paletted
		bpp = 1
	case 0: // gray: Gray or Gray16, NRGBA or NRGBA64 with a transparent value
		bpp = 1
		if transparent {
			bpp = 4
		}
	default: // RGB, gray and alpha, RGBA: RGBA or NRGBA
		bpp = 4
	}
	if depth == 16 {
		bpp *= 2
	}
	px := int64(w) * int64(h)
	cost := px * bpp
	if interlaced {
		cost *= 2
	}
	rows := 2 * (int64(w)*8 + 1) // the current and previous rows, at most 8 bytes a pixel
	return cost + rows + 64<<10, nil
}
