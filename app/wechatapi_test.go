package app_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/ports/portfake"
)

func phoneInfo(number string) domain.PhoneInfo {
	return domain.PhoneInfo{Phone: domain.Phone{Number: number, PureNumber: number, CountryCode: "86"},
		Watermark: domain.Watermark{AppID: appID, Timestamp: 1}}
}

func TestSetPhone_ByCodeAndByEncryptedData(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	w.wechat.AddPhoneCode("p1", phoneInfo("13800138000"))
	u, err := w.svc.SetPhone(ctx, "", tok, app.PhoneInput{Code: "p1"})
	if err != nil || u.Phone.PureNumber != "13800138000" || u.Phone.CountryCode != "86" {
		t.Fatalf("by code: %+v, %v", u.Phone, err)
	}
	if fmt.Sprint(u.Phone) != "138****8000" {
		t.Fatalf("a phone prints as %q", fmt.Sprint(u.Phone))
	}
	_, err = w.svc.SetPhone(ctx, "", tok, app.PhoneInput{Code: "p1"}) // used
	wantKind(t, err, domain.KindBadCode)

	k, _ := domain.ParseSessionKey(key1)
	sealed := w.dec.Seal(k, fmt.Sprintf(`{"phoneNumber":"13900139000","purePhoneNumber":"13900139000","countryCode":"86","watermark":{"appid":%q,"timestamp":1}}`, appID))
	u, err = w.svc.SetPhone(ctx, "", tok, app.PhoneInput{EncryptedData: sealed, IV: portfake.IV})
	if err != nil || u.Phone.PureNumber != "13900139000" {
		t.Fatalf("by encrypted data: %+v, %v", u.Phone, err)
	}
	if me, _ := w.svc.Me(ctx, "", tok); me.Phone.PureNumber != "13900139000" {
		t.Fatalf("me: %+v", me.Phone)
	}
	u, err = w.svc.RemovePhone(ctx, "", tok)
	if err != nil || !u.Phone.IsZero() {
		t.Fatalf("remove: %+v, %v", u.Phone, err)
	}
}

func TestSetPhone_RejectsAndWritesNothing(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	k, _ := domain.ParseSessionKey(key1)
	other := phoneInfo("13700137000")
	other.Watermark.AppID = "wxother"
	w.wechat.AddPhoneCode("otherapp", other)
	w.wechat.AddPhoneCode("nonumber", domain.PhoneInfo{Watermark: domain.Watermark{AppID: appID}})
	for name, c := range map[string]struct {
		in   app.PhoneInput
		kind domain.Kind
	}{
		"nothing":          {app.PhoneInput{}, domain.KindInvalidInput},
		"code with spaces": {app.PhoneInput{Code: "a b"}, domain.KindInvalidInput},
		"unknown code":     {app.PhoneInput{Code: "nope"}, domain.KindBadCode},
		"other app":        {app.PhoneInput{Code: "otherapp"}, domain.KindWatermark},
		"no number":        {app.PhoneInput{Code: "nonumber"}, domain.KindUpstream},
		"data without iv":  {app.PhoneInput{EncryptedData: "AAAA"}, domain.KindInvalidInput},
		"bad iv":           {app.PhoneInput{EncryptedData: "AAAA", IV: "x"}, domain.KindInvalidInput},
		"other key":        {app.PhoneInput{EncryptedData: w.dec.Seal(mustKey(t, key2), `{}`), IV: portfake.IV}, domain.KindUndecryptable},
		"not json":         {app.PhoneInput{EncryptedData: w.dec.Seal(k, `not json`), IV: portfake.IV}, domain.KindUndecryptable},
		"no watermark":     {app.PhoneInput{EncryptedData: w.dec.Seal(k, `{"purePhoneNumber":"1"}`), IV: portfake.IV}, domain.KindWatermark},
		"letters":          {app.PhoneInput{EncryptedData: w.dec.Seal(k, `{"purePhoneNumber":"13x","watermark":{"appid":"`+appID+`"}}`), IV: portfake.IV}, domain.KindUpstream},
	} {
		before := w.users.WriteCount()
		_, err := w.svc.SetPhone(ctx, "", tok, c.in)
		if domain.KindOf(err) != c.kind || w.users.WriteCount() != before {
			t.Errorf("%s: %v (kind %v), want %v; writes %d → %d", name, err, domain.KindOf(err), c.kind, before, w.users.WriteCount())
		}
	}
}

func mustKey(t *testing.T, b64 string) domain.SessionKey {
	t.Helper()
	k, err := domain.ParseSessionKey(b64)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

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
	cache := portfake.NewTokenCache(portfake.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)))
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

func TestSessionStatus_ReportsExpiryAndWeChatsAnswer(t *testing.T) {
	w := newWorld(t, app.Options{SessionTTL: time.Hour})
	tok := w.login(t, "c1", "o1", key1)
	w.clock.Advance(10 * time.Minute)
	w.wechat.KeyValid = false
	st, err := w.svc.SessionStatus(context.Background(), "", tok)
	if err != nil || st.WeChatValid || st.ExpiresIn != 50*time.Minute {
		t.Fatalf("%+v, %v", st, err)
	}
}

func TestEditProfile_ContentCheck(t *testing.T) {
	w := newWorld(t, app.Options{ContentCheck: true})
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	w.wechat.Verdicts = map[string]domain.Verdict{"Casino King": domain.VerdictRisky, "Proxy Shop": domain.VerdictReview}
	before := w.users.WriteCount()
	_, err := w.svc.EditProfile(ctx, "", tok, domain.ProfileInput{NickName: ptr("Casino King")})
	wantKind(t, err, domain.KindContentRejected)
	if w.users.WriteCount() != before {
		t.Fatal("a risky nickname was written")
	}
	if u, err := w.svc.EditProfile(ctx, "", tok, domain.ProfileInput{NickName: ptr("Proxy Shop")}); err != nil || u.Profile.NickName != "Proxy Shop" {
		t.Fatalf("review: %+v, %v", u.Profile, err)
	}
	w.wechat.FailChecks(domain.Wrap(domain.KindUpstream, errors.New("errcode -1")))
	_, err = w.svc.EditProfile(ctx, "", tok, domain.ProfileInput{NickName: ptr("Anyone")})
	wantKind(t, err, domain.KindUpstream) // the default policy rejects
	city := "杭州"
	if _, err := w.svc.EditProfile(ctx, "", tok, domain.ProfileInput{City: &city}); err != nil {
		t.Fatalf("only nicknames are checked: %v", err)
	}

	lenient := newWorld(t, app.Options{ContentCheck: true, ContentCheckOnError: "accept"})
	tok = lenient.login(t, "c1", "o1", key1)
	lenient.wechat.FailChecks(domain.Wrap(domain.KindUpstream, errors.New("errcode -1")))
	if u, err := lenient.svc.EditProfile(ctx, "", tok, domain.ProfileInput{NickName: ptr("Anyone")}); err != nil || u.Profile.NickName != "Anyone" {
		t.Fatalf("accept policy: %+v, %v", u.Profile, err)
	}
}
