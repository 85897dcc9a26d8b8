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

// TestPNG_BombIsSmall checks what makes it a bomb: a file of a
// thousandth of the bytes its pixels decode to (8 a pixel at 16-bit RGBA).
// PNG(4898, 4898, 16, 6) is the same at scale (187 KB); it takes 30 s
// to make under the race detector, so a smaller one stands in for it.
func TestPNG_BombIsSmall(t *testing.T) {
	b := PNG(1200, 1000, 16, 6)
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if decoded := 8 * cfg.Width * cfg.Height; cfg.Width != 1200 || cfg.Height != 1000 || len(b) > decoded/900 {
		t.Fatalf("%d×%d in %d bytes, want 1200×1000 in under %d", cfg.Width, cfg.Height, len(b), decoded/900)
	}
}
