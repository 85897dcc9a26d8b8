package imaging

import (
	"context"
	"net/http"
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
