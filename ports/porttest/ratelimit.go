package porttest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxbackend/ports"
)

// TestRateLimiter runs the RateLimiter contract; newLimiter returns a fresh
// limiter of rate events per period per key.
func TestRateLimiter(t *testing.T, newLimiter func(t *testing.T, rate int, period time.Duration) ports.RateLimiter) {
	t.Run("BurstThenDenyWithRetryAfter", func(t *testing.T) {
		l := newLimiter(t, 5, time.Minute)
		key := uniqueID(t, "ip")
		for i := 0; i < 5; i++ {
			if ok, _, err := l.Allow(ctx(t), key); !ok || err != nil {
				t.Fatalf("event %d of a burst of 5 refused: %v", i+1, err)
			}
		}
		ok, retry, err := l.Allow(ctx(t), key)
		if ok || err != nil {
			t.Fatalf("the 6th event of 5 per minute admitted (%v)", err)
		}
		if retry <= 0 || retry > 12*time.Second+time.Second {
			t.Fatalf("retry after %v, want about a fifth of a minute", retry)
		}
		if ok, _, _ := l.Allow(ctx(t), uniqueID(t, "other")); !ok {
			t.Fatal("another key was limited")
		}
	})

	t.Run("AdmitsAgainAfterRetryAfter", func(t *testing.T) {
		l := newLimiter(t, 4, 400*time.Millisecond)
		key := uniqueID(t, "s")
		var retry time.Duration
		for {
			ok, r, err := l.Allow(ctx(t), key)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				retry = r
				break
			}
		}
		time.Sleep(retry + 20*time.Millisecond)
		if ok, _, err := l.Allow(ctx(t), key); !ok || err != nil {
			t.Fatalf("still refused after waiting %v: %v", retry, err)
		}
	})

	t.Run("ConcurrentEventsCountedOnce", func(t *testing.T) {
		l := newLimiter(t, 20, time.Minute)
		key := uniqueID(t, "c")
		var admitted atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if ok, _, err := l.Allow(ctx(t), key); err != nil {
					t.Error(err)
				} else if ok {
					admitted.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := admitted.Load(); n != 20 {
			t.Fatalf("%d of 50 concurrent events admitted, want 20", n)
		}
	})
}
