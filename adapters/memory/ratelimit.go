package memory

import (
	"context"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"

	"wxbackend/ports"
)

var _ ports.RateLimiter = (*RateLimiter)(nil)

// RateLimiter implements ports.RateLimiter in memory with GCRA (the generic
// cell rate algorithm): per key one time, the theoretical arrival time of the
// next event, kept only while it is in the future. Limits are per process.
type RateLimiter struct {
	interval time.Duration // between events at the steady rate
	burst    time.Duration // how far ahead of now a key may run
	clock    ports.Clock

	mu   sync.Mutex
	tats *gocache.Cache // key → time.Time
}

// NewRateLimiter admits rate events per period per key, in bursts of up to
// rate.
func NewRateLimiter(rate int, period time.Duration, clock ports.Clock) *RateLimiter {
	return &RateLimiter{
		interval: period / time.Duration(rate),
		burst:    period,
		clock:    clock,
		tats:     gocache.New(gocache.NoExpiration, period),
	}
}

// Allow implements ports.RateLimiter.
func (l *RateLimiter) Allow(_ context.Context, key string) (bool, time.Duration, error) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	tat := now
	if v, ok := l.tats.Get(key); ok && v.(time.Time).After(now) {
		tat = v.(time.Time)
	}
	next := tat.Add(l.interval)
	if ahead := next.Sub(now); ahead > l.burst {
		return false, ahead - l.burst, nil
	}
	l.tats.Set(key, next, next.Sub(now))
	return true, 0, nil
}
