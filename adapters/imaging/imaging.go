// Package imaging turns uploaded pictures into avatars with the standard
// library's decoders and golang.org/x/image (WebP, resampling): the type is
// sniffed from the bytes, the dimensions are read before any pixel is, and
// what is kept is re-encoded from pixels alone, so no metadata (EXIF GPS)
// and no trailing payload (a polyglot's script) survives.
package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"runtime"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/ports"
)

// Options are the avatar settings (see config/setting).
type Options struct {
	Size      int   `setting:"avatar-size" default:"256" usage:"side in pixels of the square every avatar is stored as"`
	MaxPixels int64 `setting:"avatar-max-pixels" default:"24000000" usage:"largest uploaded image, width × height, refused before decoding (code 11)"`
	Quality   int   `setting:"avatar-jpeg-quality" default:"85" usage:"JPEG quality of stored avatars, 1-100"`
}

// Check implements setting.Checker.
func (o *Options) Check(p *setting.Problems) {
	if o.Size < 16 || o.Size > 2048 {
		p.Add(&o.Size, "must be between 16 and 2048 pixels")
	}
	if o.MaxPixels < int64(o.Size)*int64(o.Size) {
		p.Add(&o.MaxPixels, "must admit at least one avatar's size")
	}
	if o.Quality < 1 || o.Quality > 100 {
		p.Add(&o.Quality, "must be between 1 and 100")
	}
}

// maxSide bounds either dimension, whatever the pixel count: a 1×24,000,000
// image is no avatar.
const maxSide = 16384

// Processor implements ports.ImageProcessor. It decodes at most as many
// images at once as there are CPUs: decoding is CPU-bound, and each one may
// hold up to MaxPixels of memory.
type Processor struct {
	o     Options
	slots chan struct{}
}

var _ ports.ImageProcessor = (*Processor)(nil)

// New returns a Processor.
func New(o Options) *Processor {
	return &Processor{o: o, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// decoder reads one format.
type decoder struct {
	config func([]byte) (image.Config, error)
	decode func([]byte) (image.Image, error)
}

// decoders by sniffed type. GIFs give their first frame.
var decoders = map[string]decoder{
	"image/jpeg": {config: wrapConfig(jpeg.DecodeConfig), decode: wrapDecode(jpeg.Decode)},
	"image/png":  {config: wrapConfig(png.DecodeConfig), decode: wrapDecode(png.Decode)},
	"image/gif":  {config: wrapConfig(gif.DecodeConfig), decode: wrapDecode(gif.Decode)},
	"image/webp": {config: wrapConfig(webp.DecodeConfig), decode: wrapDecode(webp.Decode)},
}

func wrapConfig(f func(r io.Reader) (image.Config, error)) func([]byte) (image.Config, error) {
	return func(b []byte) (image.Config, error) { return f(bytes.NewReader(b)) }
}

func wrapDecode(f func(r io.Reader) (image.Image, error)) func([]byte) (image.Image, error) {
	return func(b []byte) (image.Image, error) { return f(bytes.NewReader(b)) }
}

var (
	errNotImage = domain.Malformed("avatar", "not a JPEG, PNG, GIF or WebP image")
	errCorrupt  = domain.Malformed("avatar", "the image is damaged or incomplete")
)

// Avatar implements ports.ImageProcessor.
func (p *Processor) Avatar(data []byte) (ports.Blob, string, error) {
	dec, ok := decoders[http.DetectContentType(data)]
	if !ok {
		return ports.Blob{}, "", errNotImage
	}
	cfg, err := dec.config(data)
	if err != nil {
		return ports.Blob{}, "", errCorrupt
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return ports.Blob{}, "", errCorrupt
	}
	if cfg.Width > maxSide || cfg.Height > maxSide || int64(cfg.Width)*int64(cfg.Height) > p.o.MaxPixels {
		return ports.Blob{}, "", domain.Wrap(domain.KindTooLarge,
			fmt.Errorf("image of %d×%d pixels, over the limit of %d", cfg.Width, cfg.Height, p.o.MaxPixels))
	}
	p.slots <- struct{}{}
	defer func() { <-p.slots }()
	img, err := decodeSafely(dec, data)
	if err != nil {
		return ports.Blob{}, "", errCorrupt
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, square(img, p.o.Size), &jpeg.Options{Quality: p.o.Quality}); err != nil {
		return ports.Blob{}, "", domain.Wrap(domain.KindInternal, fmt.Errorf("encode avatar: %w", err))
	}
	return ports.Blob{Data: out.Bytes(), ContentType: "image/jpeg"}, ".jpg", nil
}

// decodeSafely decodes, turning a decoder's panic on hostile input into an
// error.
func decodeSafely(dec decoder, data []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, errors.New("decoder panicked")
		}
	}()
	return dec.decode(data)
}

// square returns the centre square of img scaled to size×size, on white
// (JPEG has no transparency).
func square(img image.Image, size int) *image.RGBA {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	crop := image.Rect(0, 0, side, side).Add(b.Min).Add(image.Pt((b.Dx()-side)/2, (b.Dy()-side)/2))
	dst := image.NewRGBA(image.Rect(0, 0, size, size))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.BiLinear.Scale(dst, dst.Bounds(), img, crop, draw.Over, nil)
	return dst
}
