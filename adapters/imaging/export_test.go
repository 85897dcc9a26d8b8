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

// Hold takes n bytes of the decode budget until the returned function runs.
func (p *Processor) Hold(n int64) func() {
	if err := p.budget.Acquire(context.Background(), n); err != nil {
		panic(err)
	}
	return func() { p.budget.Release(n) }
}
