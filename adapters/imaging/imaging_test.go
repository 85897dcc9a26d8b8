package imaging_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"runtime"
	"testing"

	"wxbackend/adapters/imaging"
	"wxbackend/adapters/imaging/imagingtest"
	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
)

func processor(t testing.TB) *imaging.Processor {
	t.Helper()
	var o imaging.Options
	setting.Defaults(&o)
	return imaging.New(o)
}

func encode(t testing.TB, w, h int, format string) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x + y), 200})
		}
	}
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "gif":
		err = gif.Encode(&b, img, nil)
	default:
		err = jpeg.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A 1×1 lossless WebP.
const webp1x1 = "UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=="

func TestAvatar_ReencodesEveryFormatToASquareJPEG(t *testing.T) {
	p := processor(t)
	webp, _ := base64.StdEncoding.DecodeString(webp1x1)
	for name, data := range map[string][]byte{
		"jpeg":           encode(t, 640, 480, "jpeg"),
		"png with alpha": encode(t, 300, 900, "png"),
		"gif":            encode(t, 64, 64, "gif"),
		"webp":           webp,
		"tiny":           encode(t, 1, 1, "png"),
	} {
		blob, ext, err := p.Avatar(t.Context(), data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(blob.Data))
		if err != nil || format != "jpeg" || cfg.Width != 256 || cfg.Height != 256 || ext != ".jpg" || blob.ContentType != "image/jpeg" {
			t.Fatalf("%s: %s %dx%d %q %q, %v", name, format, cfg.Width, cfg.Height, ext, blob.ContentType, err)
		}
	}
}

func TestAvatar_StripsEXIFAndTrailingPayloads(t *testing.T) {
	p := processor(t)
	photo := sandbox.ChosenAvatar("alice")
	if !bytes.Contains(photo, []byte("Exif")) || !bytes.Contains(photo, []byte(sandbox.GPSMarker)) {
		t.Fatal("the test photo carries no EXIF GPS")
	}
	polyglot := append(encode(t, 64, 64, "png"), []byte("<html><script>alert(document.cookie)</script></html>")...)
	for name, data := range map[string][]byte{"exif": photo, "polyglot": polyglot} {
		blob, _, err := p.Avatar(t.Context(), data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, leak := range []string{"Exif", sandbox.GPSMarker, "<script", "<html"} {
			if bytes.Contains(blob.Data, []byte(leak)) {
				t.Errorf("%s: the stored image still holds %q", name, leak)
			}
		}
	}
}

func TestAvatar_HostileInputs(t *testing.T) {
	p := processor(t)
	jpg := encode(t, 320, 240, "jpeg")
	for name, c := range map[string]struct {
		data []byte
		kind domain.Kind
	}{
		"empty":           {nil, domain.KindInvalidInput},
		"text":            {[]byte("just some text, not an image"), domain.KindInvalidInput},
		"html":            {[]byte("<!DOCTYPE html><script>x</script>"), domain.KindInvalidInput},
		"svg":             {[]byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), domain.KindInvalidInput},
		"truncated jpeg":  {jpg[:len(jpg)/2], domain.KindInvalidInput},
		"jpeg header":     {jpg[:20], domain.KindInvalidInput},
		"bomb":            {imagingtest.PNGHeader(100_000, 100_000), domain.KindTooLarge},
		"bomb a side":     {imagingtest.PNGHeader(1, 20_000), domain.KindTooLarge},
		"zero dimension":  {imagingtest.PNGHeader(0, 10), domain.KindInvalidInput},
		"random bytes":    {randomBytes(4096), domain.KindInvalidInput},
		"png magic junk":  {append([]byte("\x89PNG\r\n\x1a\n"), randomBytes(512)...), domain.KindInvalidInput},
		"gif magic only":  {[]byte("GIF89a"), domain.KindInvalidInput},
		"webp magic junk": {append([]byte("RIFF\x10\x00\x00\x00WEBPVP8 "), randomBytes(64)...), domain.KindInvalidInput},
	} {
		_, _, err := p.Avatar(t.Context(), c.data)
		if domain.KindOf(err) != c.kind {
			t.Errorf("%s: %v (kind %v), want %v", name, err, domain.KindOf(err), c.kind)
		}
	}
}

// A bomb is refused from its header: nothing near its pixels is allocated.
func TestAvatar_BombAllocatesNoPixels(t *testing.T) {
	p := processor(t)
	bomb := imagingtest.PNGHeader(16_000, 16_000) // 1 GiB of RGBA if decoded
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 100; i++ {
		if _, _, err := p.Avatar(t.Context(), bomb); domain.KindOf(err) != domain.KindTooLarge {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 100; per > 64<<10 {
		t.Fatalf("%d bytes allocated per refused bomb", per)
	}
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// photo is a JPEG of w×h noisy pixels at quality q: what a phone sends.
func photo(b *testing.B, w, h, q int) []byte {
	b.Helper()
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range img.Y {
		img.Y[i] = uint8(i%w/16 + int(r.Uint32()%32))
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = uint8(100+i%50), uint8(140+i%30)
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: q}); err != nil {
		b.Fatal(err)
	}
	return out.Bytes()
}

// BenchmarkAvatar is one avatar upload's processing: a 12-megapixel phone
// photo of about 1 MB, and a 100 KB one. B/op is the memory it allocates,
// pixels included.
func BenchmarkAvatar(b *testing.B) {
	for _, c := range []struct {
		name    string
		w, h, q int
	}{{"12MP-1MB", 4000, 3000, 32}, {"100KB", 1080, 810, 50}} {
		b.Run(c.name, func(b *testing.B) {
			data := photo(b, c.w, c.h, c.q)
			p := processor(b)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := p.Avatar(b.Context(), data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data))/1024, "KB-in")
		})
	}
}

// Shrinking a large image by box filtering before the bilinear scaler
// gives the avatar the scaler alone gives, within a few levels: photos
// (Y'CbCr), and images with transparency (on white).
func TestSquare_ShrinkingFirstLooksTheSame(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	nrgba := image.NewNRGBA(image.Rect(0, 0, 2100, 1700))
	for y := range 1700 {
		for x := range 2100 {
			nrgba.SetNRGBA(x, y, color.NRGBA{uint8(x / 9), uint8(y / 7), uint8(r.Uint32() % 64), uint8(128 + (x+y)/64%128)})
		}
	}
	ycc := image.NewYCbCr(image.Rect(0, 0, 1600, 3000), image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = uint8(i%1600/8 + int(r.Uint32()%48))
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(90+i%800/10), uint8(200-i/800%100)
	}
	for name, img := range map[string]image.Image{"NRGBA with alpha": nrgba, "Y'CbCr 4:2:0": ycc} {
		got, want := imaging.Square(img, 256), imaging.SquareInOneStep(img, 256)
		var sum, worst int
		for i := range got.Pix {
			d := int(got.Pix[i]) - int(want.Pix[i])
			d = max(d, -d)
			sum += d
			worst = max(worst, d)
		}
		mean := float64(sum) / float64(len(got.Pix))
		t.Logf("%s: mean difference %.2f levels, largest %d", name, mean, worst)
		if mean > 2 || worst > 24 {
			t.Errorf("%s: mean difference %.2f levels, largest %d", name, mean, worst)
		}
	}
}
