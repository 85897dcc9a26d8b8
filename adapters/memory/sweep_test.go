package memory

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxbackend/domain"
)

// BenchmarkGetDuringSweep fills the store with 1,000,000 live sessions
// (a tenth of them expired), then runs the janitors' sweep while a reader
// looks sessions up, and reports the reader's p99 and worst latency of the
// lookups that started during the sweep, and how long the sweep took. One
// reader: with more goroutines than cores, the scheduler's own time slices
// (10 ms) would be measured, not the store. Even so the reader's worst case
// on 2 cores includes waits for a CPU (the sweep and the garbage collector
// hold both); max-lock-µs, the longest any shard was locked, is what the
// sweep itself can make a lookup wait. Run it with -benchtime=1x.
func BenchmarkGetDuringSweep(b *testing.B) {
	const n = 1_000_000
	key, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	ctx := context.Background()
	for b.Loop() {
		st := NewSessionStore(Options{CleanupInterval: time.Hour}, 0, 0, wallClock{})
		now := time.Now()
		ids := make([]domain.TokenDigest, n)
		for i := range ids {
			var seed [8]byte
			binary.BigEndian.PutUint64(seed[:], uint64(i))
			ids[i] = domain.TokenDigest{Sum: sha256.Sum256(seed[:])}
			ttl := time.Hour
			if i%10 == 0 {
				ttl = time.Millisecond // expired by the sweep
			}
			s := domain.Session{AppID: "wxbench", OpenID: fmt.Sprintf("o%022d", i), SessionKey: key, ExpiresAt: now.Add(ttl)}
			if err := st.Create(ctx, ids[i], s); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(5 * time.Millisecond)
		runtime.GC() // the garbage of filling the store is not the sweep's
		var stop atomic.Bool
		type sample struct {
			at  time.Time
			lat time.Duration
		}
		samples := make([]sample, 0, 1<<20)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i += 7919 {
				t0 := time.Now()
				_, _ = st.Get(ctx, ids[i%n])
				if len(samples) < cap(samples) {
					samples = append(samples, sample{t0, time.Since(t0)})
				}
			}
		}()
		time.Sleep(20 * time.Millisecond)
		start := time.Now()
		var hold time.Duration // the longest a shard was locked: the most a lookup can wait for the sweep
		for _, c := range st.tokens {
			t0 := time.Now()
			c.DeleteExpired()
			hold = max(hold, time.Since(t0))
		}
		end := time.Now()
		time.Sleep(5 * time.Millisecond)
		stop.Store(true)
		wg.Wait()
		var lat []time.Duration
		for _, s := range samples {
			if !s.at.Before(start) && s.at.Before(end) {
				lat = append(lat, s.lat)
			}
		}
		if len(lat) == 0 {
			b.Fatal("no lookup during the sweep")
		}
		sweep := end.Sub(start)
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
		b.ReportMetric(float64(sweep.Milliseconds()), "sweep-ms")
		b.ReportMetric(float64(hold.Microseconds()), "max-lock-µs")
	}
}
