package imaging

import (
	"context"
	"image"
	"image/color"
	"net/http"

	"golang.org/x/image/draw"
)

// Cost is the estimated memory of decoding data and making it an avatar.
func (p *Processor) Cost(data []byte) (int64, error) {
	kind := http.DetectContentType(data)
	dec, ok := decoders[kind]
	if !ok {
		return 0, errNoFrame
	}
	cfg, err := dec.config(data)
	if err != nil {
		return 0, err
	}
	cost, err := decodeCost(kind, data, cfg.Width, cfg.Height)
	return cost + overhead(p.o.Size, cfg.Width, cfg.Height), err
}

// Peak is the most decode budget taken at once so far, in bytes.
func (p *Processor) Peak() int64 { return p.peak.Load() }

// HoldAll takes every lane of the decode budget whole until the returned
// function runs.
func (p *Processor) HoldAll() func() {
	small, large := p.hold(p.small), p.hold(p.large)
	return func() { small(); large() }
}

// HoldLarge takes the large lane whole until the returned function runs.
func (p *Processor) HoldLarge() func() { return p.hold(p.large) }

func (p *Processor) hold(l *lane) func() {
	if err := l.sem.Acquire(context.Background(), l.size); err != nil {
		panic(err)
	}
	return func() { l.sem.Release(l.size) }
}

// LargeWaiters is how many uploads wait for the large lane now.
func (p *Processor) LargeWaiters() int64 { return p.large.waiters.Load() }

// MaxLargeWaiters is how many uploads may wait for the large lane.
const MaxLargeWaiters = largeWaiters

// Square is what an avatar is scaled with: box-filtered first when large.
func Square(img image.Image, size int) *image.RGBA { return square(img, size) }

// SquareInOneStep is the centre square of img scaled to size with the
// bilinear scaler alone, the reference Square is held to.
func SquareInOneStep(img image.Image, size int) *image.RGBA {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	crop := image.Rect(0, 0, side, side).Add(b.Min).Add(image.Pt((b.Dx()-side)/2, (b.Dy()-side)/2))
	dst := image.NewRGBA(image.Rect(0, 0, size, size))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.BiLinear.Scale(dst, dst.Bounds(), img, crop, draw.Over, nil)
	return dst
}
