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
	"runtime"
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
	// depth), in two lanes (see Processor): a quarter for small images,
	// the rest for large ones. An image that alone costs more than the
	// large lane is refused (code 11), others wait for their share.
	DecodeBudget int64 `setting:"avatar-decode-budget" default:"134217728" usage:"bytes of memory all avatar decodes at once may take, by each image's estimated cost (a progressive 4:4:4 JPEG 15 a pixel, a 16-bit PNG 8): a quarter decodes small images (costing at most a sixteenth), which never wait behind large ones, the rest large ones (at most 4 waiting, more get code 7); an image that alone costs more than that rest is refused (code 11)"`
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
//
// The budget is split in two lanes, so that an avatar never queues behind
// a photo or a bomb: a quarter of it decodes small images (those costing at
// most a sixteenth of the budget: 8 MiB of 128, a baseline JPEG of about
// 750×750; avatars from chooseAvatar are a few hundred pixels), the rest
// large ones (at most that much each: 96 MiB of 128, a 12-megapixel photo
// takes about 25). At most largeWaiters uploads wait for the large lane;
// more are refused at once (code 7): a waiting upload holds its body and
// one of the transport's upload slots, which small images need too.
type Processor struct {
	o            Options
	small, large *lane
	// inUse and peak are the budget taken now and at most, in bytes.
	inUse, peak atomic.Int64
}

// largeWaiters is how many uploads may wait for the large lane at once.
const largeWaiters = 4

// lane is one share of the decode budget.
type lane struct {
	size    int64 // bytes; also the most one image may cost
	sem     *semaphore.Weighted
	waiters atomic.Int64 // uploads waiting for it now
	max     int64        // most uploads that may wait; 0: any number
}

var _ ports.ImageProcessor = (*Processor)(nil)

// New returns a Processor. Options left zero take no budget (every image is
// refused as too large) and no wait: use setting.Defaults.
func New(o Options) *Processor {
	small := o.DecodeBudget / 4
	return &Processor{o: o,
		small: &lane{size: small, sem: semaphore.NewWeighted(small)},
		large: &lane{size: o.DecodeBudget - small, sem: semaphore.NewWeighted(o.DecodeBudget - small), max: largeWaiters},
	}
}

// laneOf is the lane an image of this estimated cost decodes in.
func (p *Processor) laneOf(cost int64) *lane {
	if cost <= p.o.DecodeBudget/16 {
		return p.small
	}
	return p.large
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
	out, err := func() ([]byte, error) {
		defer release() // after render returns, what it decoded is unreachable
		return p.render(dec, data)
	}()
	if err != nil {
		return ports.Blob{}, "", err
	}
	return ports.Blob{Data: out, ContentType: "image/jpeg"}, ".jpg", nil
}

// render decodes data and encodes its avatar.
func (p *Processor) render(dec decoder, data []byte) ([]byte, error) {
	img, err := decodeSafely(dec, data)
	if err != nil {
		return nil, errCorrupt
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, square(img, p.o.Size), &jpeg.Options{Quality: p.o.Quality}); err != nil {
		return nil, domain.Wrap(domain.KindInternal, fmt.Errorf("encode avatar: %w", err))
	}
	return out.Bytes(), nil
}

// take waits for cost bytes of the decode budget, in the image's lane, and
// returns what gives them back. An image that alone costs more than the
// large lane is too large.
func (p *Processor) take(ctx context.Context, cost int64) (func(), error) {
	l := p.laneOf(cost)
	if cost > l.size {
		return nil, domain.Wrap(domain.KindTooLarge,
			fmt.Errorf("image would take %d MiB to decode, over the %d MiB a large image may take (of a budget of %d MiB)", cost>>20, l.size>>20, p.o.DecodeBudget>>20))
	}
	if err := ctx.Err(); err != nil { // a client that left is not decoded for
		return nil, domain.Wrap(domain.KindUnavailable, fmt.Errorf("wait for decode budget: %w", err))
	}
	if !l.sem.TryAcquire(cost) {
		if err := l.wait(ctx, cost, p.o.DecodeWait); err != nil {
			return nil, err
		}
	}
	now := p.inUse.Add(cost)
	for peak := p.peak.Load(); now > peak && !p.peak.CompareAndSwap(peak, now); peak = p.peak.Load() {
	}
	return func() {
		if l == p.large {
			// What a large decode allocated is garbage now, as much as
			// the lane again: collected before the next large decode
			// may take the lane, it is reused, instead of waiting until
			// the heap is twice its live data (or at the memory limit,
			// which a collector short of CPU overshoots).
			runtime.GC()
		}
		p.inUse.Add(-cost)
		l.sem.Release(cost)
	}, nil
}

// wait takes cost bytes of l, waiting up to d, or less when ctx ends first,
// unless l has as many waiting as it admits: then it is rate limited at
// once.
func (l *lane) wait(ctx context.Context, cost int64, d time.Duration) error {
	if n := l.waiters.Add(1); l.max > 0 && n > l.max {
		l.waiters.Add(-1)
		return domain.RateLimited(time.Second)
	}
	defer l.waiters.Add(-1)
	wait, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := l.sem.Acquire(wait, cost); err != nil {
		if ctx.Err() != nil { // the request's end, not our wait's
			return domain.Wrap(domain.KindUnavailable, fmt.Errorf("wait for decode budget: %w", ctx.Err()))
		}
		return domain.RateLimited(time.Second)
	}
	return nil
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
// (JPEG has no transparency). A square of more than four times size on a
// side is first shrunk by box filtering to between two and three times
// size (see shrink): the scaler's buffer is 32 bytes for each column of the
// avatar and row of what it scales, 24 MiB for a 12-megapixel photo, and
// the box filter's result a few MiB at most.
func square(img image.Image, size int) *image.RGBA {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	var src image.Image = img
	crop := image.Rect(0, 0, side, side).Add(b.Min).Add(image.Pt((b.Dx()-side)/2, (b.Dy()-side)/2))
	// Every type the decoders return has RGBA64At.
	if px, ok := img.(image.RGBA64Image); ok && shrinkFactor(side, size) > 1 {
		src = shrink(px, crop, shrinkFactor(side, size))
		crop = src.Bounds()
	}
	dst := image.NewRGBA(image.Rect(0, 0, size, size))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.BiLinear.Scale(dst, dst.Bounds(), src, crop, draw.Over, nil)
	return dst
}

// shrinkFactor is the integer factor a square of side pixels is box-filtered
// down by before it is scaled to size: none (1) when side is under four
// times size, else the largest that leaves at least two times size.
func shrinkFactor(side, size int) int {
	if side < 4*size {
		return 1
	}
	return side / (2 * size)
}

// shrink returns the centre of crop box-filtered by k: each pixel of the
// result is the mean of k×k pixels of img (premultiplied, as RGBA64At
// gives them). The at most k-1 rows and columns that make no whole box are
// left out, as many on each side.
func shrink(src image.RGBA64Image, crop image.Rectangle, k int) *image.RGBA {
	n := crop.Dx() / k
	at := crop.Min.Add(image.Pt((crop.Dx()-n*k)/2, (crop.Dy()-n*k)/2))
	out := image.NewRGBA(image.Rect(0, 0, n, n))
	sums := make([][4]uint64, n)
	area := uint64(k * k)
	for oy := range n {
		clear(sums)
		for y := at.Y + oy*k; y < at.Y+(oy+1)*k; y++ {
			x := at.X
			for ox := range sums {
				s := &sums[ox]
				for end := x + k; x < end; x++ {
					c := src.RGBA64At(x, y)
					s[0] += uint64(c.R)
					s[1] += uint64(c.G)
					s[2] += uint64(c.B)
					s[3] += uint64(c.A)
				}
			}
		}
		row := out.Pix[oy*out.Stride:]
		for ox, s := range sums {
			for c := range 4 {
				row[4*ox+c] = uint8(s[c] / area >> 8)
			}
		}
	}
	return out
}
