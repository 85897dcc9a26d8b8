package sandbox

import (
	"bytes"
	"encoding/binary"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"
)

// ChosenAvatar is what <button open-type="chooseAvatar"> hands a page for
// user: a photo as a phone takes it, 640×480 JPEG, with an EXIF block that
// holds the phone's GPS position (the backend must not publish it). The
// picture is the user's own colour, so users tell apart.
func ChosenAvatar(user string) []byte {
	h := fnv.New32a()
	h.Write([]byte(user))
	seed := h.Sum32()
	base := color.RGBA{R: uint8(seed), G: uint8(seed >> 8), B: uint8(seed >> 16), A: 255}
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			img.Set(x, y, color.RGBA{R: base.R + uint8(x/5), G: base.G + uint8(y/4), B: base.B ^ uint8((x+y)/8), A: 255})
		}
	}
	var enc bytes.Buffer
	_ = jpeg.Encode(&enc, img, &jpeg.Options{Quality: 80})
	jpg := enc.Bytes()
	// SOI, then the APP1 Exif segment, then the rest, as cameras write it.
	out := append([]byte{}, jpg[:2]...)
	out = append(out, exifWithGPS()...)
	return append(out, jpg[2:]...)
}

// GPSMarker is text the EXIF block of ChosenAvatar carries, for tests that
// check it was stripped.
const GPSMarker = "Shenzhen GPS 22.5431N 114.0579E"

// exifWithGPS is an APP1 segment: "Exif\0\0", a little-endian TIFF header,
// IFD0 with a pointer to a GPS IFD and an ImageDescription, the GPS IFD with
// the latitude reference and latitude (22°32'35" N).
func exifWithGPS() []byte {
	le := binary.LittleEndian
	var t bytes.Buffer
	t.WriteString("II")
	_ = binary.Write(&t, le, uint16(42))
	_ = binary.Write(&t, le, uint32(8)) // IFD0 at 8
	entry := func(tag, typ uint16, count, value uint32) {
		_ = binary.Write(&t, le, tag)
		_ = binary.Write(&t, le, typ)
		_ = binary.Write(&t, le, count)
		_ = binary.Write(&t, le, value)
	}
	desc := GPSMarker + "\x00"
	const ifd0At, ifd0Len = 8, 2 + 2*12 + 4
	descAt := uint32(ifd0At + ifd0Len)
	gpsAt := descAt + uint32(len(desc))
	_ = binary.Write(&t, le, uint16(2))
	entry(0x010E, 2, uint32(len(desc)), descAt) // ImageDescription, ASCII
	entry(0x8825, 4, 1, gpsAt)                  // GPSInfo IFD pointer
	_ = binary.Write(&t, le, uint32(0))         // no next IFD
	t.WriteString(desc)
	const gpsLen = 2 + 2*12 + 4
	latAt := gpsAt + gpsLen
	_ = binary.Write(&t, le, uint16(2))
	entry(0x0001, 2, 2, uint32('N')) // GPSLatitudeRef "N"
	entry(0x0002, 5, 3, latAt)       // GPSLatitude, 3 rationals
	_ = binary.Write(&t, le, uint32(0))
	for _, r := range [][2]uint32{{22, 1}, {32, 1}, {35, 1}} {
		_ = binary.Write(&t, le, r[0])
		_ = binary.Write(&t, le, r[1])
	}
	payload := append([]byte("Exif\x00\x00"), t.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}
