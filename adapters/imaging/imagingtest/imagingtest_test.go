package imagingtest

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"testing"
)

// TestPNG_DecodesToTheClaimedImage checks that PNG makes a whole image the
// standard decoder reads, of the size, depth and color type asked for.
func TestPNG_DecodesToTheClaimedImage(t *testing.T) {
	for _, c := range []struct {
		depth, colorType byte
		want             string
	}{{16, 6, "*image.NRGBA64"}, {8, 2, "*image.RGBA"}, {16, 0, "*image.Gray16"}, {8, 4, "*image.NRGBA"}} {
		img, err := png.Decode(bytes.NewReader(PNG(67, 45, c.depth, c.colorType)))
		if err != nil {
			t.Fatalf("depth %d, color type %d: %v", c.depth, c.colorType, err)
		}
		if got := fmt.Sprintf("%T", img); got != c.want || img.Bounds() != image.Rect(0, 0, 67, 45) {
			t.Errorf("depth %d, color type %d: %s of %v, want %s of 67×45", c.depth, c.colorType, got, img.Bounds(), c.want)
		}
	}
}

// TestPNG_BombIsSmall checks the 16-bit bomb's claim: 4898×4898 pixels
// (8 bytes each decoded) in a file of a few hundred kilobytes.
func TestPNG_BombIsSmall(t *testing.T) {
	b := PNG(4898, 4898, 16, 6)
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != 4898 || cfg.Height != 4898 || len(b) > 400<<10 {
		t.Fatalf("%d×%d in %d bytes, want 4898×4898 in under 400 KiB", cfg.Width, cfg.Height, len(b))
	}
}
