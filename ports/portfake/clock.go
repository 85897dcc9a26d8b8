package portfake

import (
	"sync"
	"time"

	"wxbackend/domain"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now implements ports.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Tokens makes distinct, predictable tokens.
type Tokens struct {
	mu sync.Mutex
	n  uint64
}

// NewToken implements ports.TokenSource.
func (t *Tokens) NewToken() (domain.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	var b [domain.TokenBytes]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(t.n >> (8 * i))
	}
	return domain.NewToken(b), nil
}

// NewBlobName implements ports.TokenSource: distinct, predictable names.
func (t *Tokens) NewBlobName(ext string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	var b [domain.BlobNameBytes]byte
	b[0] = 0xb1 // not a token's bytes
	for i := 0; i < 8; i++ {
		b[1+i] = byte(t.n >> (8 * i))
	}
	return domain.NewBlobName(b, ext), nil
}
