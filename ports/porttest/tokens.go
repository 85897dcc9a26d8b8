package porttest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// tokenHarness gives the token cache suite its caches and their clock.
type tokenHarness struct {
	// New returns a cache holding nothing for the app ids the suite makes.
	New func(t *testing.T) ports.TokenCache
	// Now is the cache's clock.
	Now func() time.Time
}

// token is a cached token v that lives life from now.
func (h tokenHarness) token(v string, life time.Duration) domain.CachedToken {
	n := h.Now().UTC().Truncate(time.Millisecond)
	return domain.CachedToken{Token: domain.NewAccessToken(v), ExpiresAt: n.Add(life), RefreshAt: n.Add(life * 3 / 4)}
}

// TestTokenCache runs the TokenCache contract against the caches newCache
// returns (each holding nothing for the app ids the suite makes). now is
// the cache's clock.
func TestTokenCache(t *testing.T, newCache func(t *testing.T) ports.TokenCache, now func() time.Time) {
	h := tokenHarness{New: newCache, Now: now}
	for _, c := range []struct {
		name string
		run  func(*testing.T, tokenHarness)
	}{
		{"PutThenGet", tokenPutThenGet},
		{"ExpiredIsGone", tokenExpiredIsGone},
		{"DropOnlyTheRejectedToken", tokenDropOnlyTheRejectedToken},
		{"LockIsExclusiveAndExpires", tokenLockIsExclusiveAndExpires},
		{"ForcedRefreshesCountPerDay", tokenForcedRefreshesCountPerDay},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, h) })
	}
}

func tokenPutThenGet(t *testing.T, h tokenHarness) {
	c, app := h.New(t), uniqueID(t, "wx")
	if _, ok, err := c.Get(ctx(t), app); ok || err != nil {
		t.Fatalf("an empty cache: %v %v", ok, err)
	}
	want := h.token("tok-1", time.Hour)
	if err := c.Put(ctx(t), app, want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.Get(ctx(t), app)
	if err != nil || !ok || got.Token != want.Token || !got.ExpiresAt.Equal(want.ExpiresAt) || !got.RefreshAt.Equal(want.RefreshAt) {
		t.Fatalf("got %+v %v %v, want %+v", got, ok, err, want)
	}
	if _, ok, _ := c.Get(ctx(t), uniqueID(t, "wx")); ok {
		t.Fatal("another app sees the token")
	}
}

func tokenExpiredIsGone(t *testing.T, h tokenHarness) {
	c, app := h.New(t), uniqueID(t, "wx")
	if err := c.Put(ctx(t), app, h.token("short", 200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the token expires", func() bool {
		_, ok, err := c.Get(ctx(t), app)
		return err == nil && !ok
	})
}

func tokenDropOnlyTheRejectedToken(t *testing.T, h tokenHarness) {
	c, app := h.New(t), uniqueID(t, "wx")
	if err := c.Put(ctx(t), app, h.token("newer", time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := c.Drop(ctx(t), app, domain.NewAccessToken("older")); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := c.Get(ctx(t), app); !ok || got.Token.Reveal() != "newer" {
		t.Fatal("dropping a rejected old token dropped the newer one")
	}
	if err := c.Drop(ctx(t), app, domain.NewAccessToken("newer")); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Get(ctx(t), app); ok {
		t.Fatal("the rejected token is still cached")
	}
}

func tokenLockIsExclusiveAndExpires(t *testing.T, h tokenHarness) {
	c, app := h.New(t), uniqueID(t, "wx")
	var held atomic.Int32
	var wg sync.WaitGroup
	unlocks := make(chan func(), 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, ok, err := c.Lock(ctx(t), app, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				held.Add(1)
				unlocks <- unlock
			}
		}()
	}
	wg.Wait()
	if held.Load() != 1 {
		t.Fatalf("%d holders at once", held.Load())
	}
	(<-unlocks)()
	unlock, ok, err := c.Lock(ctx(t), app, 200*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("after unlock: %v %v", ok, err)
	}
	// The lock expires by itself; the old holder's late unlock then
	// releases nothing of the new holder's.
	var next func()
	eventually(t, 5*time.Second, "the lock expires", func() bool {
		var got bool
		next, got, _ = c.Lock(ctx(t), app, time.Minute)
		return got
	})
	unlock()
	if _, ok, _ := c.Lock(ctx(t), app, time.Minute); ok {
		t.Fatal("a stale unlock released the new holder's lock")
	}
	next()
}

func tokenForcedRefreshesCountPerDay(t *testing.T, h tokenHarness) {
	c, app := h.New(t), uniqueID(t, "wx")
	for want := 1; want <= 3; want++ {
		if n, err := c.CountForceRefresh(ctx(t), app, "20261130"); err != nil || n != want {
			t.Fatalf("count %d, %v; want %d", n, err, want)
		}
	}
	if n, err := c.CountForceRefresh(ctx(t), app, "20261201"); err != nil || n != 1 {
		t.Fatalf("a new day: %d, %v", n, err)
	}
}
