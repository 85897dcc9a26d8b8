package redisstore

import (
	"context"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"wxbackend/ports"
)

// RateLimiter implements ports.RateLimiter on Redis with go-redis/redis_rate
// (GCRA in one Lua script on one key), so every server sharing the Redis
// shares the limits.
type RateLimiter struct {
	l       *redis_rate.Limiter
	limit   redis_rate.Limit
	prefix  string
	timeout time.Duration
}

var _ ports.RateLimiter = (*RateLimiter)(nil)

// RateLimiter returns a limiter on the store's Redis admitting rate events
// per period per key, in bursts of up to rate. Keys are laid out as
// "rate:<prefix>r:<name>:<key>".
func (s *SessionStore) RateLimiter(name string, rate int, period time.Duration) *RateLimiter {
	return &RateLimiter{
		l:       redis_rate.NewLimiter(s.rdb),
		limit:   redis_rate.Limit{Rate: rate, Burst: rate, Period: period},
		prefix:  s.prefix + "r:" + name + ":",
		timeout: s.timeout,
	}
}

// Allow implements ports.RateLimiter.
func (l *RateLimiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	res, err := l.l.Allow(ctx, l.prefix+key, l.limit)
	if err != nil {
		return false, 0, fail("rate limit", err)
	}
	if res.Allowed > 0 {
		return true, 0, nil
	}
	return false, res.RetryAfter, nil
}
