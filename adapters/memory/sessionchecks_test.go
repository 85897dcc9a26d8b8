package memory_test

import (
	"context"
	"testing"
	"time"

	"wxbackend/adapters/memory"
	"wxbackend/domain"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

// SessionChecks keeps an answer per app, openid and key, the "invalid"
// answer as well as the valid one, and with a TTL of 0 is no decorator.
func TestSessionChecks_KeepsEachKeysAnswer(t *testing.T) {
	clock := portfake.NewClock(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	a, b := portfake.NewWeChat("wxA"), portfake.NewWeChat("wxB")
	if memory.NewSessionChecks(a, 0, clock) != ports.WeChat(a) {
		t.Fatal("a TTL of 0 decorates")
	}
	ca, cb := memory.NewSessionChecks(a, time.Minute, clock), memory.NewSessionChecks(b, time.Minute, clock)
	ctx := context.Background()
	check := func(wc ports.WeChat, openID string, key domain.SessionKey, want bool) {
		t.Helper()
		tok, _, err := wc.StableToken(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := wc.CheckSession(ctx, tok, openID, key); err != nil || got != want {
			t.Fatalf("%s %s: %v, %v; want %v", wc.AppID(), openID, got, err, want)
		}
	}
	k1, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	k2, _ := domain.ParseSessionKey("HyVFkGl5F5OQWJZZaNzBBg==")
	a.KeyValid, b.KeyValid = false, true
	check(ca, "o1", k1, false)
	check(cb, "o1", k1, true) // another app: its own answer
	a.KeyValid = true
	check(ca, "o1", k1, false) // kept
	check(ca, "o2", k1, true)  // another user
	check(ca, "o1", k2, true)  // another key
	if a.SessionChecks() != 3 || b.SessionChecks() != 1 {
		t.Fatalf("WeChat asked %d and %d times, want 3 and 1", a.SessionChecks(), b.SessionChecks())
	}
	clock.Advance(time.Minute)
	check(ca, "o1", k1, true)
	if a.SessionChecks() != 4 {
		t.Fatalf("an answer a minute old was reused")
	}
}
