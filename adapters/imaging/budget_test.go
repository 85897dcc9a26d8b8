package imaging_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/png"
	"runtime"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/imaging"
	"wxbackend/adapters/imaging/imagingtest"
	"wxbackend/config/setting"
	"wxbackend/domain"
)

func processorWith(t testing.TB, budget int64, wait time.Duration) *imaging.Processor {
	t.Helper()
	var o imaging.Options
	setting.Defaults(&o)
	o.DecodeBudget, o.DecodeWait = budget, wait
	return imaging.New(o)
}

func pngOf(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// allocated returns the bytes f allocates.
func allocated(f func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

// The estimate of each format is held to what a real decode (and the
// avatar made of it) allocates: never much less, so the budget holds, and
// not far more, so honest images are not refused or kept waiting.
func TestCost_MatchesARealDecode(t *testing.T) {
	const side = 1024
	g := gif.Options{NumColors: 256}
	var gifData bytes.Buffer
	if err := gif.Encode(&gifData, image.NewPaletted(image.Rect(0, 0, side, side), palette.Plan9), &g); err != nil {
		t.Fatal(err)
	}
	pal := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.Black, color.White})
	for name, data := range map[string][]byte{
		"progressive JPEG 4:4:4": imagingtest.JPEG(side, side, true, imagingtest.S444, false),
		"progressive JPEG 4:2:0": imagingtest.JPEG(side, side, true, imagingtest.S420, false),
		"baseline JPEG 4:4:4":    imagingtest.JPEG(side, side, false, imagingtest.S444, false),
		"baseline JPEG 4:2:0":    imagingtest.JPEG(side, side, false, imagingtest.S420, false),
		"baseline JPEG 4:2:2":    imagingtest.JPEG(side, side, false, imagingtest.S422, false),
		"gray JPEG":              imagingtest.JPEG(side, side, true, imagingtest.S444, true),
		"16-bit RGBA PNG":        pngOf(t, image.NewNRGBA64(image.Rect(0, 0, side, side))),
		"16-bit gray PNG":        pngOf(t, image.NewGray16(image.Rect(0, 0, side, side))),
		"8-bit RGBA PNG":         pngOf(t, image.NewNRGBA(image.Rect(0, 0, side, side))),
		"paletted PNG":           pngOf(t, pal),
		"GIF":                    gifData.Bytes(),
	} {
		p := processorWith(t, 1<<30, time.Second)
		cost, err := p.Cost(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var aerr error
		real := allocated(func() { _, _, aerr = p.Avatar(t.Context(), data) })
		if aerr != nil {
			t.Fatalf("%s: %v", name, aerr)
		}
		t.Logf("%-22s estimated %6.1f MiB, allocated %6.1f MiB (%.2f)", name, float64(cost)/(1<<20), float64(real)/(1<<20), float64(cost)/float64(real))
		if cost < real*9/10 || cost > real*3/2 {
			t.Errorf("%s: estimated %d bytes, a decode allocated %d", name, cost, real)
		}
	}
}

// Issue 23 item 2: bombs under the pixel limit are budgeted at their real
// cost, and one that alone costs more than the budget is refused before a
// pixel is decoded.
func TestAvatar_BombsUnderThePixelLimitAreBudgetedAtTheirCost(t *testing.T) {
	p := processorWith(t, 128<<20, time.Second)
	const side = 4898 // 23.99 megapixels, under the default 24
	for name, c := range map[string]struct {
		data    []byte
		atLeast int64
	}{
		"progressive 4:4:4 JPEG": {imagingtest.JPEG(side, side, true, imagingtest.S444, false), 15 * side * side},
		"16-bit RGBA PNG":        {imagingtest.PNGHeaderOf(side, side, 16, 6, 0), 8 * side * side},
		"interlaced 16-bit PNG":  {imagingtest.PNGHeaderOf(side, side, 16, 6, 1), 16 * side * side},
	} {
		cost, err := p.Cost(c.data)
		if err != nil || cost < c.atLeast {
			t.Fatalf("%s: estimated %d bytes (%v), want at least %d", name, cost, err, c.atLeast)
		}
		var aerr error
		spent := allocated(func() { _, _, aerr = p.Avatar(t.Context(), c.data) })
		if domain.KindOf(aerr) != domain.KindTooLarge {
			t.Fatalf("%s (%d KB, %d MiB to decode): %v, want too large", name, len(c.data)>>10, cost>>20, aerr)
		}
		if spent > 4<<20 {
			t.Fatalf("%s: refusing it allocated %d bytes", name, spent)
		}
	}
	// An honest 12-megapixel baseline 4:2:0 photo fits.
	if cost, err := p.Cost(imagingtest.JPEG(4000, 3000, false, imagingtest.S420, false)); err != nil || cost > 64<<20 {
		t.Fatalf("a 12 MP photo: %d bytes, %v", cost, err)
	}
}

// Concurrent bombs wait for their share of the budget instead of all
// decoding at once.
func TestAvatar_ConcurrentDecodesShareTheBudget(t *testing.T) {
	data := imagingtest.JPEG(1024, 1024, true, imagingtest.S444, false)
	cost, err := processorWith(t, 1<<30, time.Second).Cost(data)
	if err != nil {
		t.Fatal(err)
	}
	budget := cost * 10 / 3 // two at once in the large lane, three quarters of it
	p := processorWith(t, budget, time.Minute)
	var wg sync.WaitGroup
	// Two decode at once, and as many as may wait for the large lane wait.
	n := 2 + imaging.MaxLargeWaiters
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, _, err := p.Avatar(t.Context(), data)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if peak := p.Peak(); peak > budget || peak < cost {
		t.Fatalf("peak of %d bytes decoding at once, budget %d, one image %d", peak, budget, cost)
	}
}

// A wait for budget ends with the request (promptly, wrapping its
// context's error, so the transport sees the client left) or after
// DecodeWait (rate limited, code 7), and a freed budget serves again.
func TestAvatar_WaitForBudgetHonoursCancellationAndDeadline(t *testing.T) {
	const budget = 64 << 20
	data := encode(t, 64, 64, "png")
	p := processorWith(t, budget, time.Hour)
	release := p.HoldAll()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, _, err := p.Avatar(ctx, data)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || domain.KindOf(err) == domain.KindInternal {
			t.Fatalf("a cancelled wait: %v", err)
		}
	case <-time.After(10 * time.Second): // a liveness bound, not a timing claim
		t.Fatal("a cancelled wait did not return")
	}
	release()

	q := processorWith(t, budget, time.Millisecond)
	release = q.HoldAll()
	if _, _, err := q.Avatar(t.Context(), data); domain.KindOf(err) != domain.KindRateLimited {
		t.Fatalf("a wait past DecodeWait: %v, want rate limited", err)
	}
	release()
	if _, _, err := q.Avatar(t.Context(), data); err != nil {
		t.Fatalf("after the budget is free: %v", err)
	}
}

// waitFor polls cond until it holds, failing the test after a liveness bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling with a deadline, not waiting for a time
	}
}

// A small image (an avatar) decodes in a lane of its own: it never waits
// behind large images that wait for theirs (issue 23 item 3: 100 bomb
// sessions made an honest 480×480 upload wait 5 s and fail).
func TestAvatar_SmallImagesDoNotQueueBehindLargeOnes(t *testing.T) {
	p := processorWith(t, 128<<20, time.Hour)
	large := imagingtest.JPEG(1024, 1024, true, imagingtest.S444, false) // about 25 MiB
	small := imagingtest.JPEG(480, 480, false, imagingtest.S420, false)  // about 5 MiB
	release := p.HoldLarge()
	defer release()
	ctx, cancel := context.WithCancel(t.Context())
	waited := make(chan error, 1)
	go func() {
		_, _, err := p.Avatar(ctx, large)
		waited <- err
	}()
	waitFor(t, "the large image to wait", func() bool { return p.LargeWaiters() == 1 })

	live, stop := context.WithTimeout(t.Context(), 10*time.Second) // a liveness bound, not a timing claim
	defer stop()
	if _, _, err := p.Avatar(live, small); err != nil {
		t.Fatalf("a small image behind a waiting large one: %v", err)
	}
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Fatalf("the large image's wait: %v", err)
	}
}

// Only a few uploads wait for the large lane; the next is refused at once
// (code 7) instead of holding its body and an upload slot for the whole
// wait, which is what let bomb sessions take every upload slot.
func TestAvatar_FewUploadsWaitForTheLargeLane(t *testing.T) {
	p := processorWith(t, 128<<20, time.Hour)
	large := imagingtest.JPEG(1024, 1024, true, imagingtest.S444, false)
	release := p.HoldLarge()
	defer release()
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range imaging.MaxLargeWaiters {
		wg.Go(func() { _, _, _ = p.Avatar(ctx, large) })
	}
	defer wg.Wait()
	defer cancel()
	waitFor(t, "the waiters", func() bool { return p.LargeWaiters() == imaging.MaxLargeWaiters })

	live, stop := context.WithTimeout(t.Context(), 10*time.Second) // a liveness bound, not a timing claim
	defer stop()
	if _, _, err := p.Avatar(live, large); domain.KindOf(err) != domain.KindRateLimited {
		t.Fatalf("one more large image: %v, want rate limited", err)
	}
	if n := p.LargeWaiters(); n != imaging.MaxLargeWaiters {
		t.Fatalf("%d waiting after a refusal, want %d", n, imaging.MaxLargeWaiters)
	}
}

// A large photo is box-filtered before the scaler scales it, so the
// scaler's buffer (32 bytes per avatar column and row scaled) no longer
// costs more than the photo's pixels: a 12-megapixel phone photo took 42
// MiB, 17 of them its pixels; it takes about 25.
func TestAvatar_LargePhotosCostLittleBeyondTheirPixels(t *testing.T) {
	p := processorWith(t, 128<<20, time.Second)
	data := imagingtest.JPEG(4000, 3000, false, imagingtest.S420, false)
	cost, err := p.Cost(data)
	if err != nil {
		t.Fatal(err)
	}
	var aerr error
	real := allocated(func() { _, _, aerr = p.Avatar(t.Context(), data) })
	if aerr != nil {
		t.Fatal(aerr)
	}
	t.Logf("a 12 MP photo: estimated %.1f MiB, allocated %.1f MiB", float64(cost)/(1<<20), float64(real)/(1<<20))
	if cost > 28<<20 || real > 28<<20 || real > cost {
		t.Fatalf("a 12 MP photo: estimated %d bytes, allocated %d", cost, real)
	}
}

// What a large image's decode allocated is collected before its share of
// the large lane is given back, so the next large decode reuses that
// memory instead of the heap growing to twice its live data (make hostile
// with bombs that fit the budget peaked at 269 MiB of RSS without this).
func TestAvatar_LargeDecodesAreCollectedBeforeTheLaneIsFreed(t *testing.T) {
	p := processorWith(t, 128<<20, time.Second)
	data := imagingtest.JPEG(1024, 1024, true, imagingtest.S444, false) // about 21 MiB: the large lane
	cost, err := p.Cost(data)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, _, err := p.Avatar(t.Context(), data); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > cost/4 {
		t.Fatalf("the heap holds %d bytes more after a decode of %d", grown, cost)
	}
}
