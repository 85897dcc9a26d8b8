package memory_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"wxbackend/adapters/memory"
	"wxbackend/adapters/system"
	"wxbackend/domain"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
	"wxbackend/ports/porttest"
)

func TestSessionStore_Contract(t *testing.T) {
	porttest.TestSessionStore(t, porttest.SessionHarness{
		New: func(*testing.T) ports.SessionStore { return memory.NewSessionStore(fastCleanup, 0, 0, system.Clock{}) },
		NewSliding: func(_ *testing.T, sliding time.Duration) ports.SessionStore {
			return memory.NewSessionStore(fastCleanup, sliding, 0, system.Clock{})
		},
		NewCapped: func(_ *testing.T, max int) ports.SessionStore {
			return memory.NewSessionStore(fastCleanup, 0, max, system.Clock{})
		},
		Now:    time.Now,
		Elapse: func(time.Duration) {},
	})
}

func TestRateLimiter_Contract(t *testing.T) {
	porttest.TestRateLimiter(t, func(_ *testing.T, rate int, period time.Duration) ports.RateLimiter {
		return memory.NewRateLimiter(rate, period, system.Clock{})
	})
}

var fastCleanup = memory.Options{CleanupInterval: 10 * time.Millisecond}

// Expiry and sliding follow the store's clock, not the wall clock.
func TestSessionStore_ExpiryAndSlidingFollowTheClock(t *testing.T) {
	ctx := context.Background()
	clock := portfake.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	key, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	session := domain.Session{AppID: "wxapp", OpenID: "oClock", SessionKey: key, ExpiresAt: clock.Now().Add(time.Hour)}
	fixed, sliding := memory.NewSessionStore(fastCleanup, 0, 0, clock), memory.NewSessionStore(fastCleanup, time.Hour, 0, clock)
	used, idle := domain.TokenDigest{Sum: sha256.Sum256([]byte("used"))}, domain.TokenDigest{Sum: sha256.Sum256([]byte("idle"))}
	for _, st := range []*memory.SessionStore{fixed, sliding} {
		for _, id := range []domain.TokenDigest{used, idle} {
			if err := st.Create(ctx, id, session); err != nil {
				t.Fatal(err)
			}
		}
	}
	clock.Advance(59 * time.Minute)
	for _, st := range []*memory.SessionStore{fixed, sliding} {
		got, err := st.Get(ctx, used)
		if err != nil {
			t.Fatalf("a minute before expiry: %v", err)
		}
		want := session.ExpiresAt
		if st == sliding {
			want = clock.Now().Add(time.Hour)
		}
		if !got.ExpiresAt.Equal(want) {
			t.Fatalf("expires %v, want %v", got.ExpiresAt, want)
		}
	}
	clock.Advance(time.Minute) // the first hour is over
	if _, err := fixed.Get(ctx, used); domain.KindOf(err) != domain.KindUnauthenticated {
		t.Fatalf("fixed expiry: %v, want unauthenticated", err)
	}
	if _, err := sliding.Get(ctx, idle); domain.KindOf(err) != domain.KindUnauthenticated {
		t.Fatalf("an unused sliding session: %v, want unauthenticated", err)
	}
	if _, err := sliding.Get(ctx, used); err != nil {
		t.Fatalf("a used sliding session: %v", err)
	}
	clock.Advance(time.Hour)
	if _, err := sliding.Get(ctx, used); domain.KindOf(err) != domain.KindUnauthenticated {
		t.Fatalf("an hour after its last use: %v, want unauthenticated", err)
	}
}

// A limit's window moves with the clock.
func TestRateLimiter_FollowsTheClock(t *testing.T) {
	clock := portfake.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	l := memory.NewRateLimiter(2, time.Minute, clock)
	ctx := context.Background()
	for i, want := range []bool{true, true, false} {
		if ok, _, _ := l.Allow(ctx, "k"); ok != want {
			t.Fatalf("event %d: %v", i, ok)
		}
	}
	clock.Advance(30 * time.Second)
	if ok, _, _ := l.Allow(ctx, "k"); !ok {
		t.Fatal("half a minute later, one event is allowed again")
	}
}

func TestTokenCache_Contract(t *testing.T) {
	porttest.TestTokenCache(t, func(*testing.T) ports.TokenCache { return memory.NewTokenCache(system.Clock{}) }, time.Now)
}
