package app_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/memory"
	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/ports/portfake"
)

// Tests of the app's WeChat access token (tokens.go, wechatapi.go).

// Many requests, one token fetch; a token WeChat invalidates mid-load costs
// one fetch and no failed request.
func TestAccessToken_OneFetchPerExpiryAndA40001CostsOneRefresh(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	w.wechat.KeyValid = true
	ctx := context.Background()
	load := func() {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := w.svc.SessionStatus(ctx, "", tok); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("a request failed: %v", err)
		}
	}
	load()
	if n := w.wechat.TokenCalls(); n != 1 {
		t.Fatalf("%d token fetches for the first load, want 1", n)
	}
	w.wechat.InvalidateToken() // another party called cgi-bin/token: 40001 for ours
	load()
	if n, issued := w.wechat.TokenCalls(), w.wechat.TokensIssued(); n != 2 || issued != 2 {
		t.Fatalf("after a 40001: %d fetches, %d tokens, want 2 and 2", n, issued)
	}
}

// The token is refreshed ahead of expiry, at a jittered 70-90% of its life,
// and a WeChat that is down then does not stop the still-valid token.
func TestAccessToken_RefreshAheadAndServeThroughAnOutage(t *testing.T) {
	w := newWorld(t, app.Options{SessionTTL: 24 * time.Hour})
	tok := w.login(t, "c1", "o1", key1)
	w.wechat.KeyValid = true
	ctx := context.Background()
	status := func() error {
		_, err := w.svc.SessionStatus(ctx, "", tok)
		return err
	}
	if err := status(); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(69 * time.Minute) // 58% of 2h: no refresh yet
	if err := status(); err != nil || w.wechat.TokenCalls() != 1 {
		t.Fatalf("before the refresh window: %v, %d fetches", err, w.wechat.TokenCalls())
	}
	w.clock.Advance(40 * time.Minute) // 91%: the refresh is due
	w.wechat.FailTokens(domain.Wrap(domain.KindUpstream, errors.New("errcode -1: system busy")))
	if err := status(); err != nil {
		t.Fatalf("WeChat down before expiry: %v", err)
	}
	if w.wechat.TokenCalls() != 2 {
		t.Fatalf("%d fetches, want a refresh attempt", w.wechat.TokenCalls())
	}
	w.clock.Advance(11 * time.Minute) // expired, WeChat still down
	wantKind(t, status(), domain.KindUpstream)
	w.wechat.FailTokens(nil)
	if err := status(); err != nil {
		t.Fatalf("WeChat back: %v", err)
	}
}

// Four servers sharing one cache fetch once.
func TestAccessToken_ServersSharingACacheFetchOnce(t *testing.T) {
	cache := memory.NewTokenCache(portfake.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)))
	wechat := portfake.NewWeChat(appID) // one WeChat for all
	wechat.KeyValid = true
	var servers []*world
	for i := 0; i < 4; i++ {
		servers = append(servers, newWorld(t, app.Options{}, withTokenCache(cache), withWeChat(wechat)))
	}
	block := make(chan struct{})
	wechat.TokenHook = func(bool) { <-block }
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i, w := range servers {
		tok := w.login(t, fmt.Sprintf("c%d", i), fmt.Sprintf("o%d", i), key1)
		for j := 0; j < 10; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := w.svc.SessionStatus(context.Background(), "", tok); err != nil {
					errs <- err
				}
			}()
		}
	}
	time.Sleep(50 * time.Millisecond) // let every request reach the cache
	close(block)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if fetches := wechat.TokenCalls(); fetches != 1 {
		t.Fatalf("%d token fetches across 4 servers, want 1", fetches)
	}
}

// When WeChat's normal mode hands back the very token its API rejects, a
// forced refresh helps, within the daily cap.
func TestAccessToken_ForcedRefreshOnlyWhenAFreshTokenIsRejected(t *testing.T) {
	w := newWorld(t, app.Options{ForceRefreshPerDay: 1})
	tok := w.login(t, "c1", "o1", key1)
	w.wechat.KeyValid = true
	ctx := context.Background()
	if _, err := w.svc.SessionStatus(ctx, "", tok); err != nil {
		t.Fatal(err)
	}
	w.wechat.RejectEveryToken(true)
	if _, err := w.svc.SessionStatus(ctx, "", tok); err != nil {
		t.Fatalf("with a forced refresh: %v", err)
	}
	if issued := w.wechat.TokensIssued(); issued != 2 {
		t.Fatalf("%d tokens issued, want 2 (the forced one)", issued)
	}
	w.wechat.RejectEveryToken(true)
	_, err := w.svc.SessionStatus(ctx, "", tok) // the day's one forced refresh is spent
	wantKind(t, err, domain.KindUpstream)
}

// A caller with no usable token waits for another server's refresh for a
// while on the clock, not the wall's: moving the clock past the wait ends
// it (code 8) at once.
func TestAccessToken_WaitForAnotherServersRefreshEndsOnTheClock(t *testing.T) {
	var cache *memory.TokenCache
	w := newWorld(t, app.Options{}, func(d *app.Deps) {
		cache = memory.NewTokenCache(d.Clock) // its locks and the use cases' time move together
		d.AccessTokens = cache
	})
	tok := w.login(t, "c1", "o1", key1)
	// Another server holds the refresh lock and never finishes.
	if _, locked, err := cache.Lock(context.Background(), appID, time.Hour); err != nil || !locked {
		t.Fatalf("lock: %v %v", locked, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := w.svc.SessionStatus(context.Background(), "", tok)
		done <- err
	}()
	// The clock moves a second every few milliseconds until the caller
	// gives up: on the clock that is after three seconds, so well before
	// two seconds of wall time pass.
	giveUp := time.After(2 * time.Second)
	for waiting := true; waiting; {
		select {
		case err := <-done:
			wantKind(t, err, domain.KindUpstream)
			waiting = false
		case <-giveUp:
			t.Fatal("the wait did not end when the clock passed it")
		case <-time.After(5 * time.Millisecond):
			w.clock.Advance(time.Second)
		}
	}
	if n := w.wechat.TokenCalls(); n != 0 {
		t.Fatalf("WeChat asked for %d tokens while another server held the lock", n)
	}
}
