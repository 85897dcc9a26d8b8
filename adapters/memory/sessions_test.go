package memory_test

import (
	"testing"
	"time"

	"wxbackend/adapters/memory"
	"wxbackend/ports"
	"wxbackend/ports/porttest"
)

func TestSessionStore_Contract(t *testing.T) {
	porttest.TestSessionStore(t, porttest.SessionHarness{
		New: func(*testing.T) ports.SessionStore { return memory.NewSessionStore(10*time.Millisecond, 0) },
		NewSliding: func(_ *testing.T, sliding time.Duration) ports.SessionStore {
			return memory.NewSessionStore(10*time.Millisecond, sliding)
		},
		Now:    time.Now,
		Elapse: func(time.Duration) {},
	})
}

func TestRateLimiter_Contract(t *testing.T) {
	porttest.TestRateLimiter(t, func(_ *testing.T, rate int, period time.Duration) ports.RateLimiter {
		return memory.NewRateLimiter(rate, period)
	})
}
