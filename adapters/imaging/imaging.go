// Package imaging turns uploaded pictures into avatars with the standard
// library's decoders and golang.org/x/image (WebP, resampling): the type is
// sniffed from the bytes, the dimensions are read before any pixel is, and
// what is kept is re-encoded from pixels alone, so no metadata (EXIF GPS)
// and no trailing payload (a polyglot's script) survives.
package imaging

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
	"golang.org/x/sync/semaphore"

	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/ports"
)

// Options are the avatar settings (see config/setting).
type Options struct {
	Size      int   `setting:"avatar-size" default:"256" usage:"side in pixels of the square every avatar is stored as"`
	MaxPixels int64 `setting:"avatar-max-pixels" default:"24000000" usage:"largest uploaded image, width × height, refused before decoding (code 11)"`
	Quality   int   `setting:"avatar-jpeg-quality" default:"85" usage:"JPEG quality of stored avatars, 1-100"`
	// DecodeBudget is the memory all decodes at once may take, by each
	// image's estimated cost (format, progressive or not, subsampling, bit
	// depth): an image that alone costs more is refused (code 11), others
	// wait for their share.
	DecodeBudget int64 `setting:"avatar-decode-budget" default:"134217728" usage:"bytes of memory all avatar decodes at once may take, by each image's estimated cost (a progressive 4:4:4 JPEG 15 a pixel, a 16-bit PNG 8); an image that alone costs more is refused (code 11), others wait"`
	// DecodeWait is the longest an upload waits for its share of
	// DecodeBudget; then it is code 7.
	DecodeWait time.Duration `setting:"avatar-decode-wait" default:"5s" usage:"longest an avatar upload waits for decode memory (avatar-decode-budget), then code 7"`
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
	if o.DecodeBudget < 16<<20 {
		p.Add(&o.DecodeBudget, "must be at least 16 MiB")
	}
	if o.DecodeWait <= 0 {
		p.Add(&o.DecodeWait, "must be positive")
	}
}

// maxSide bounds either dimension, whatever the pixel count: a 1×24,000,000
// image is no avatar.
const maxSide = 16384

// Processor implements ports.ImageProcessor. Decodes share a memory
// budget (Options.DecodeBudget): each takes its image's estimated cost
// before it starts and gives it back when done, so hostile images under the
// pixel limit (progressive JPEGs, 16-bit PNGs) wait instead of all
// decoding at once.
type Processor struct {
	o      Options
	budget *semaphore.Weighted
	// inUse and peak are the budget taken now and at most, in bytes.
	inUse, peak atomic.Int64
}

var _ ports.ImageProcessor = (*Processor)(nil)

// New returns a Processor. Options left zero take no budget (every image is
// refused as too large) and no wait: use setting.Defaults.
func New(o Options) *Processor {
	return &Processor{o: o, budget: semaphore.NewWeighted(o.DecodeBudget)}
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

// Avatar implements ports.ImageProcessor. The wait for decode budget ends
// with ctx (the error then wraps ctx.Err(), so the transport can tell a
// client that left) or after Options.DecodeWait (KindRateLimited).
func (p *Processor) Avatar(ctx context.Context, data []byte) (ports.Blob, string, error) {
	kind := http.DetectContentType(data)
	dec, ok := decoders[kind]
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
	cost, err := decodeCost(kind, data, cfg.Width, cfg.Height)
	if err != nil {
		return ports.Blob{}, "", errCorrupt
	}
	cost += overhead(p.o.Size, cfg.Width, cfg.Height)
	release, err := p.take(ctx, cost)
	if err != nil {
		return ports.Blob{}, "", err
	}
	defer release()
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

// take waits for cost bytes of the decode budget and returns what gives
// them back. An image that alone costs more than the budget is too large.
func (p *Processor) take(ctx context.Context, cost int64) (func(), error) {
	if cost > p.o.DecodeBudget {
		return nil, domain.Wrap(domain.KindTooLarge,
			fmt.Errorf("image would take %d MiB to decode, over the budget of %d MiB", cost>>20, p.o.DecodeBudget>>20))
	}
	wait, cancel := context.WithTimeout(ctx, p.o.DecodeWait)
	defer cancel()
	if err := p.budget.Acquire(wait, cost); err != nil {
		if ctx.Err() != nil { // the request's end, not our wait's
			return nil, domain.Wrap(domain.KindUnavailable, fmt.Errorf("wait for decode budget: %w", ctx.Err()))
		}
		return nil, domain.RateLimited(time.Second)
	}
	now := p.inUse.Add(cost)
	for peak := p.peak.Load(); now > peak && !p.peak.CompareAndSwap(peak, now); peak = p.peak.Load() {
	}
	return func() {
		p.inUse.Add(-cost)
		p.budget.Release(cost)
	}, nil
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
