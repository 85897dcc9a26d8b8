package app_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/memory"
	"wxbackend/app"
	"wxbackend/domain"
)

// Tests of logging in (login.go, loginflight.go).

func TestLogin_CreatesUserAndSession(t *testing.T) {
	w := newWorld(t, app.Options{SessionTTL: 2 * time.Hour})
	w.wechat.AddCode("c1", "o1", "u1", key1)
	res, err := w.svc.Login(context.Background(), "", "c1", phone)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExpiresIn != 2*time.Hour || res.User.OpenID != "o1" || res.User.UnionID != "u1" || res.User.AppID != appID {
		t.Fatalf("got %+v", res)
	}
	me, err := w.svc.Me(context.Background(), "", res.Token.Reveal())
	if err != nil || me.ID != res.User.ID {
		t.Fatalf("me: %+v, %v", me, err)
	}
}

func TestLogin_RejectsBadCodes(t *testing.T) {
	w := newWorld(t, app.Options{})
	_, err := w.svc.Login(context.Background(), "", "", phone)
	wantKind(t, err, domain.KindInvalidInput)
	_, err = w.svc.Login(context.Background(), "", "has space", phone)
	wantKind(t, err, domain.KindInvalidInput)
	_, err = w.svc.Login(context.Background(), "", "unknown", phone)
	wantKind(t, err, domain.KindBadCode)
	w.wechat.FailCode("busy", domain.Wrap(domain.KindUpstream, errors.New("errcode -1")))
	_, err = w.svc.Login(context.Background(), "", "busy", phone)
	wantKind(t, err, domain.KindUpstream)
	if w.sessionCount(t) != 0 {
		t.Fatal("a failed login stored a session")
	}
}

func TestLogin_ReusedCodeIsRejectedWithoutReplayWindow(t *testing.T) {
	w := newWorld(t, app.Options{})
	w.login(t, "c1", "o1", key1)
	_, err := w.svc.Login(context.Background(), "", "c1", phone)
	wantKind(t, err, domain.KindBadCode)
}

func TestLogin_RetriedCodeGetsTheSameSession(t *testing.T) {
	w := newWorld(t, app.Options{LoginReplayWindow: time.Minute})
	first := w.login(t, "c1", "o1", key1)
	again, err := w.svc.Login(context.Background(), "", "c1", phone)
	if err != nil || again.Token.Reveal() != first {
		t.Fatalf("a retry got %v, %v", again.Token.Reveal() == first, err)
	}
	if n := w.wechat.Calls("c1"); n != 1 {
		t.Fatalf("WeChat asked %d times", n)
	}
	if err := w.svc.Logout(context.Background(), "", first); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Login(context.Background(), "", "c1", phone)
	wantKind(t, err, domain.KindBadCode) // the code's session is gone: the code is used
}

// A login code is a bearer secret for its replay window: only the client that
// sent it first may have its session again.
func TestLogin_ReplayFromAnotherClientIsABadCode(t *testing.T) {
	w := newWorld(t, app.Options{LoginReplayWindow: 10 * time.Second})
	first := w.login(t, "c1", "o1", key1)
	_, err := w.svc.Login(context.Background(), "", "c1", laptop)
	wantKind(t, err, domain.KindBadCode)
	otherUA := app.ClientOf("203.0.113.7", "curl/8.5.0")
	_, err = w.svc.Login(context.Background(), "", "c1", otherUA)
	wantKind(t, err, domain.KindBadCode)
	again, err := w.svc.Login(context.Background(), "", "c1", phone) // still the owner's
	if err != nil || again.Token.Reveal() != first {
		t.Fatalf("the owner's retry after a refused replay: %v", err)
	}
}

func TestLogin_ReplayWindowEndsOnTheClock(t *testing.T) {
	w := newWorld(t, app.Options{LoginReplayWindow: 10 * time.Second})
	first := w.login(t, "c1", "o1", key1)
	w.clock.Advance(9 * time.Second)
	again, err := w.svc.Login(context.Background(), "", "c1", phone)
	if err != nil || again.Token.Reveal() != first || again.ExpiresIn != time.Hour-9*time.Second {
		t.Fatalf("a retry inside the window: %+v, %v", again.ExpiresIn, err)
	}
	w.clock.Advance(time.Second)
	_, err = w.svc.Login(context.Background(), "", "c1", phone)
	wantKind(t, err, domain.KindBadCode) // past the window WeChat is asked, and says "used"
	if n := w.wechat.Calls("c1"); n != 2 {
		t.Fatalf("WeChat asked %d times, want 2", n)
	}
}

// The raw token of a replayable result is held no longer than the window,
// even with no later login to purge it.
func TestLogin_ReplayWindowDropsTheToken(t *testing.T) {
	w := newWorld(t, app.Options{LoginReplayWindow: 20 * time.Millisecond})
	w.login(t, "c1", "o1", key1)
	if n := w.svc.HeldLogins(); n != 1 {
		t.Fatalf("held %d results, want 1", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for w.svc.HeldLogins() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the result outlived its window")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Logins start no timer or goroutine each: one sweeper drops the results
// of the replay window, and it stops when none is held.
func TestLogin_OneSweeperForTheReplayWindow(t *testing.T) {
	w := newWorld(t, app.Options{LoginReplayWindow: 50 * time.Millisecond, MaxConcurrentExchanges: 4})
	w.login(t, "warm", "o0", key1) // the sweeper starts with the first result held
	before := runtime.NumGoroutine()
	for i := 0; i < 100; i++ {
		w.login(t, fmt.Sprintf("c%d", i), fmt.Sprintf("o%d", i), key1)
	}
	if n := w.svc.HeldLogins(); n != 101 {
		t.Fatalf("held %d results, want 101", n)
	}
	if after := runtime.NumGoroutine(); after > before+2 {
		t.Fatalf("%d goroutines after 100 logins, %d before", after, before)
	}
	deadline := time.Now().Add(5 * time.Second)
	for w.svc.HeldLogins() != 0 || w.svc.LoginSweeperRunning() {
		if time.Now().After(deadline) {
			t.Fatalf("held %d results, sweeper running %v, long after the window", w.svc.HeldLogins(), w.svc.LoginSweeperRunning())
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.login(t, "again", "o1", key1) // and starts again
	if !w.svc.LoginSweeperRunning() || w.svc.HeldLogins() != 1 {
		t.Fatal("the sweeper did not start again")
	}
}

// Clients tapping the same code at once share one exchange, but only the
// client that sent it gets the session.
func TestLogin_ConcurrentCodeFromAnotherClientIsABadCode(t *testing.T) {
	w := newWorld(t, app.Options{LoginReplayWindow: time.Minute})
	w.wechat.AddCode("tap", "o1", "", key1)
	entered := make(chan struct{}, 2)
	release := make(chan struct{})
	w.wechat.Hook = func(string) { entered <- struct{}{}; <-release }
	owner := make(chan error, 1)
	go func() {
		_, err := w.svc.Login(context.Background(), "", "tap", phone)
		owner <- err
	}()
	<-entered
	thief := make(chan error, 1)
	go func() {
		_, err := w.svc.Login(context.Background(), "", "tap", laptop)
		thief <- err
	}()
	// The thief either waits on the owner's exchange or, if it arrives after
	// it, finds the result held for the owner: refused both ways.
	time.AfterFunc(50*time.Millisecond, func() { close(release) })
	if err := <-owner; err != nil {
		t.Fatal(err)
	}
	wantKind(t, <-thief, domain.KindBadCode)
	if calls := w.wechat.Calls("tap"); calls != 1 {
		t.Fatalf("WeChat asked %d times", calls)
	}
}

func TestLogin_ConcurrentSameCodeAsksWeChatOnce(t *testing.T) {
	w := newWorld(t, app.Options{})
	w.wechat.AddCode("tap", "o1", "", key1)
	const n = 8
	entered := make(chan struct{}, n)
	release := make(chan struct{})
	w.wechat.Hook = func(string) { entered <- struct{}{}; <-release }
	tokens := make(chan string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := w.svc.Login(context.Background(), "", "tap", phone)
			if err != nil {
				t.Error(err)
				return
			}
			tokens <- res.Token.Reveal()
		}()
	}
	<-entered // one exchange is under way; the others must be waiting on it
	time.AfterFunc(50*time.Millisecond, func() { close(release) })
	wg.Wait()
	close(tokens)
	var first string
	for tok := range tokens {
		if first == "" {
			first = tok
		}
		if tok != first {
			t.Fatal("a double tap got two sessions")
		}
	}
	if calls := w.wechat.Calls("tap"); calls != 1 {
		t.Fatalf("WeChat asked %d times", calls)
	}
}

// A flood of codes cannot hold more than MaxConcurrentExchanges
// jscode2session calls at once; the ones that find no slot in time are code 7.
func TestLogin_ConcurrentExchangesAreCapped(t *testing.T) {
	w := newWorld(t, app.Options{MaxConcurrentExchanges: 2})
	release := make(chan struct{})
	var inFlight, most int
	var mu sync.Mutex
	w.wechat.Hook = func(string) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
	}
	errs := make(chan error, 5)
	for i := 0; i < 5; i++ {
		go func() {
			_, err := w.svc.Login(context.Background(), "", fmt.Sprintf("junk-%d", i), phone)
			errs <- err
		}()
	}
	kinds := map[domain.Kind]int{}
	for i := 0; i < 3; i++ { // three wait a second for a slot, and give up
		kinds[domain.KindOf(<-errs)]++
	}
	close(release)
	for i := 0; i < 2; i++ {
		kinds[domain.KindOf(<-errs)]++
	}
	if most != 2 || kinds[domain.KindRateLimited] != 3 || kinds[domain.KindBadCode] != 2 {
		t.Fatalf("at most %d in flight; answers by kind %v", most, kinds)
	}
}

// A session never lives past its maximum age, whatever its TTL.
func TestLogin_SessionMaxAgeCapsTheTTL(t *testing.T) {
	w := newWorld(t, app.Options{SessionTTL: 24 * time.Hour, SessionMaxAge: 2 * time.Hour})
	w.wechat.AddCode("c1", "o1", "", key1)
	res, err := w.svc.Login(context.Background(), "", "c1", phone)
	if err != nil || res.ExpiresIn != 2*time.Hour {
		t.Fatalf("expires in %v, %v", res.ExpiresIn, err)
	}
	w.clock.Advance(2 * time.Hour)
	_, err = w.svc.Me(context.Background(), "", res.Token.Reveal())
	wantKind(t, err, domain.KindUnauthenticated)
}

// A login whose user cannot be stored leaves no session behind. (A
// returning user's login without the database is the user cache's:
// adapters/usercache.)
func TestLogin_AFailedUserStoreLeavesNoSession(t *testing.T) {
	w := newWorld(t, app.Options{})
	ctx := context.Background()
	w.users.SetErr(errors.New("the user database is down"))
	before := w.sessionCount(t)
	w.wechat.AddCode("c3", "o-new", "", key2)
	if _, err := w.svc.Login(ctx, "", "c3", phone); err == nil {
		t.Fatal("a new user logged in without the user database")
	}
	if after := w.sessionCount(t); after != before {
		t.Fatalf("a failed login left a session: %d -> %d", before, after)
	}
}

// A login's profile shows the avatar the user uploaded, as every other
// profile does.
func TestLogin_ProfileShowsTheUploadedAvatar(t *testing.T) {
	w := newWorld(t, app.Options{})
	ctx := context.Background()
	tok := w.login(t, "c1", "o1", key1)
	u, err := w.svc.SetAvatar(ctx, "", tok, picture(t, 9))
	if err != nil {
		t.Fatal(err)
	}
	w.wechat.AddCode("c2", "o1", "", key2)
	res, err := w.svc.Login(ctx, "", "c2", phone)
	if err != nil || res.User.Profile.AvatarURL != u.Profile.AvatarURL || u.Profile.AvatarURL == "" {
		t.Fatalf("login profile avatar %q, want %q (%v)", res.User.Profile.AvatarURL, u.Profile.AvatarURL, err)
	}
}

// Junk codes beyond the app's jscode2session bound within a period are
// rate limited before WeChat is asked; the next period admits logins again.
func TestLogin_JSCode2SessionCallsPerAppAreBounded(t *testing.T) {
	const bound = 5
	w := newWorld(t, app.Options{}, func(d *app.Deps) {
		d.Exchanges = memory.NewRateLimiter(bound, time.Second, d.Clock)
	})
	limited := 0
	for i := range 3 * bound {
		_, err := w.svc.Login(context.Background(), "", fmt.Sprintf("junk%d", i), phone)
		switch domain.KindOf(err) {
		case domain.KindBadCode:
		case domain.KindRateLimited:
			limited++
		default:
			t.Fatalf("junk code %d: %v", i, err)
		}
	}
	asked := 0
	for i := range 3 * bound {
		asked += w.wechat.Calls(fmt.Sprintf("junk%d", i))
	}
	if asked != bound || limited != 2*bound {
		t.Fatalf("WeChat was asked %d times and %d logins were rate limited; want %d and %d", asked, limited, bound, 2*bound)
	}
	w.clock.Advance(time.Second)
	w.login(t, "good", "o1", key1)
}
