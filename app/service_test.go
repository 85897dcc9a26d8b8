package app_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

const (
	appID = "wx4f4bc4dec97d474b"
	key1  = "tiihtNczf5v6AKRyjwEUhQ=="
	key2  = "HyVFkGl5F5OQWJZZaNzBBg=="
)

type world struct {
	svc        *app.Service
	clock      *portfake.Clock
	sessions   *portfake.Sessions
	users      *portfake.Users
	wechat     *portfake.WeChat
	dec        portfake.Decrypter
	blobs      *portfake.Blobs
	tokenCache *portfake.TokenCache
}

// worldOption changes the dependencies of a test world.
type worldOption func(*app.Deps)

// withTokenCache makes the world share an access-token cache (another
// server's, say).
func withTokenCache(c *portfake.TokenCache) worldOption {
	return func(d *app.Deps) { d.AccessTokens = c }
}

// withWeChat makes the world use a WeChat shared with other worlds.
func withWeChat(wc *portfake.WeChat) worldOption {
	return func(d *app.Deps) { d.Apps = []ports.WeChat{wc} }
}

// withLog sends the service's log to buf, as text.
func withLog(buf *bytes.Buffer) worldOption {
	return func(d *app.Deps) { d.Log = slog.New(slog.NewTextHandler(buf, nil)) }
}

func newWorld(t *testing.T, o app.Options, opts ...worldOption) *world {
	t.Helper()
	w := &world{clock: portfake.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)), users: portfake.NewUsers(), wechat: portfake.NewWeChat(appID)}
	w.sessions = portfake.NewSessions(w.clock)
	if o.SessionTTL == 0 {
		o.SessionTTL = time.Hour
	}
	w.blobs = portfake.NewBlobs()
	w.tokenCache = portfake.NewTokenCache(w.clock)
	deps := app.Deps{Sessions: w.sessions, Users: w.users, Decrypter: w.dec, Apps: []ports.WeChat{w.wechat},
		Clock: w.clock, Tokens: &portfake.Tokens{}, Blobs: w.blobs, Images: portfake.Images{}, AccessTokens: w.tokenCache}
	for _, opt := range opts {
		opt(&deps)
	}
	if wc, ok := deps.Apps[0].(*portfake.WeChat); ok {
		w.wechat = wc
	}
	svc, err := app.New(deps, o)
	if err != nil {
		t.Fatal(err)
	}
	w.svc = svc
	return w
}

func (w *world) login(t *testing.T, code, openID, keyB64 string) string {
	t.Helper()
	w.wechat.AddCode(code, openID, "", keyB64)
	res, err := w.svc.Login(context.Background(), "", code, phone)
	if err != nil {
		t.Fatal(err)
	}
	return res.Token.Reveal()
}

func (w *world) payload(t *testing.T, keyB64, openID, nick string) app.EncryptedUserInfo {
	t.Helper()
	return w.payloadWithUnion(t, keyB64, openID, nick, "oUnion")
}

// sealed seals a getUserInfo payload of the session's user (openID) with
// the given profile JSON fields.
func (w *world) sealed(t *testing.T, keyB64, openID, fields string) app.EncryptedUserInfo {
	t.Helper()
	k, err := domain.ParseSessionKey(keyB64)
	if err != nil {
		t.Fatal(err)
	}
	plain := fmt.Sprintf(`{"openId":%q,%s,"watermark":{"appid":%q,"timestamp":%d}}`, openID, fields, appID, w.clock.Now().Unix())
	return app.EncryptedUserInfo{EncryptedData: w.dec.Seal(k, plain), IV: portfake.IV}
}

// payloadWithUnion seals a getUserInfo payload whose unionId the user chose.
func (w *world) payloadWithUnion(t *testing.T, keyB64, openID, nick, unionID string) app.EncryptedUserInfo {
	t.Helper()
	k, err := domain.ParseSessionKey(keyB64)
	if err != nil {
		t.Fatal(err)
	}
	plain := fmt.Sprintf(`{"openId":%q,"nickName":%q,"gender":1,"city":"广州","unionId":%q,"watermark":{"appid":%q,"timestamp":%d}}`,
		openID, nick, unionID, appID, w.clock.Now().Unix())
	return app.EncryptedUserInfo{EncryptedData: w.dec.Seal(k, plain), IV: portfake.IV}
}

// phone and laptop are two clients, as the HTTP adapter tells them apart.
var (
	phone  = app.ClientOf("203.0.113.7", "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50")
	laptop = app.ClientOf("198.51.100.9", "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50")
)

func wantKind(t *testing.T, err error, k domain.Kind) {
	t.Helper()
	if domain.KindOf(err) != k || err == nil {
		t.Fatalf("got %v (kind %v), want kind %v", err, domain.KindOf(err), k)
	}
}

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
	if w.sessions.Len() != 0 {
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

func TestSaveUserInfo_SavesTheProfile(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	u, err := w.svc.SaveUserInfo(context.Background(), "", tok, w.payload(t, key1, "o1", "Band 🎸"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Profile.NickName != "Band 🎸" || u.Profile.City != "广州" || u.Profile.Gender != 1 || u.UnionID != "" {
		t.Fatalf("saved %+v", u)
	}
	me, err := w.svc.Me(context.Background(), "", tok)
	if err != nil || me.Profile != u.Profile {
		t.Fatalf("me: %+v, %v", me, err)
	}
}

// The payload is user-controlled (AES-CBC has no integrity): its unionId must
// never replace the one WeChat gave server to server, nor fill in a missing one.
func TestSaveUserInfo_PayloadUnionIDIsIgnored(t *testing.T) {
	var logs bytes.Buffer
	w := newWorld(t, app.Options{}, withLog(&logs))
	for _, c := range []struct{ code, openID, wechatUnion string }{
		{"c1", "o1", "uFromWeChat"}, // a forged unionId over WeChat's
		{"c2", "o2", ""},            // a forged unionId where WeChat gave none
	} {
		w.wechat.AddCode(c.code, c.openID, c.wechatUnion, key1)
		res, err := w.svc.Login(context.Background(), "", c.code, phone)
		if err != nil {
			t.Fatal(err)
		}
		tok := res.Token.Reveal()
		in := w.payloadWithUnion(t, key1, c.openID, "Mallory", "oVictimUnionID")
		u, err := w.svc.SaveUserInfo(context.Background(), "", tok, in)
		if err != nil {
			t.Fatal(err)
		}
		if u.UnionID != c.wechatUnion || u.Profile.NickName != "Mallory" {
			t.Fatalf("answered unionid %q, want WeChat's %q", u.UnionID, c.wechatUnion)
		}
		stored, err := w.svc.Me(context.Background(), "", tok)
		if err != nil || stored.UnionID != c.wechatUnion {
			t.Fatalf("stored unionid %q (%v), want WeChat's %q", stored.UnionID, err, c.wechatUnion)
		}
	}
	if n := strings.Count(logs.String(), "payload unionId ignored"); n != 2 {
		t.Fatalf("%d warnings, want 2:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "oVictimUnionID") {
		t.Fatal("the forged unionId reached the log")
	}
}

func TestSaveUserInfo_MatchingPayloadUnionIDIsNoWarning(t *testing.T) {
	var logs bytes.Buffer
	w := newWorld(t, app.Options{}, withLog(&logs))
	w.wechat.AddCode("c1", "o1", "uSame", key1)
	res, err := w.svc.Login(context.Background(), "", "c1", phone)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.SaveUserInfo(context.Background(), "", res.Token.Reveal(), w.payloadWithUnion(t, key1, "o1", "n", "uSame")); err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Fatalf("logged %s", logs.String())
	}
}

func TestSaveUserInfo_AfterReloginOnlyTheNewestKeyDecrypts(t *testing.T) {
	w := newWorld(t, app.Options{})
	old := w.login(t, "c1", "o1", key1)
	fresh := w.login(t, "c2", "o1", key2) // WeChat rotated the key
	before := w.users.WriteCount()
	_, err := w.svc.SaveUserInfo(context.Background(), "", old, w.payload(t, key1, "o1", "stale"))
	wantKind(t, err, domain.KindUndecryptable)
	if w.users.WriteCount() != before {
		t.Fatal("the rejected payload wrote")
	}
	for i, tok := range []string{old, fresh} {
		u, err := w.svc.SaveUserInfo(context.Background(), "", tok, w.payload(t, key2, "o1", fmt.Sprintf("new %d", i)))
		if err != nil || u.Profile.NickName != fmt.Sprintf("new %d", i) {
			t.Fatalf("a live token with the newest key: %+v, %v", u.Profile, err)
		}
	}
}

func TestSaveUserInfo_RejectsAndWritesNothing(t *testing.T) {
	w := newWorld(t, app.Options{WatermarkMaxAge: time.Hour})
	tok := w.login(t, "c1", "o1", key1)
	k1, _ := domain.ParseSessionKey(key1)
	seal := func(plain string) app.EncryptedUserInfo {
		return app.EncryptedUserInfo{EncryptedData: w.dec.Seal(k1, plain), IV: portfake.IV}
	}
	now := w.clock.Now().Unix()
	good := w.payload(t, key1, "o1", "Band")
	badSig := good
	badSig.RawData, badSig.Signature = `{"nickName":"Band"}`, "0000000000000000000000000000000000000000"
	cases := []struct {
		name  string
		token string
		in    app.EncryptedUserInfo
		kind  domain.Kind
	}{
		{"no encryptedData", tok, app.EncryptedUserInfo{IV: portfake.IV}, domain.KindInvalidInput},
		{"no iv", tok, app.EncryptedUserInfo{EncryptedData: "x"}, domain.KindInvalidInput},
		{"no token", "", good, domain.KindUnauthenticated},
		{"unknown token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", good, domain.KindUnauthenticated},
		{"bad iv", tok, app.EncryptedUserInfo{EncryptedData: good.EncryptedData, IV: "x"}, domain.KindInvalidInput},
		{"wrong key", tok, w.payload(t, key2, "o1", "x"), domain.KindUndecryptable},
		{"not JSON", tok, seal("not json"), domain.KindUndecryptable},
		{"no watermark", tok, seal(`{"nickName":"x"}`), domain.KindWatermark},
		{"another app", tok, seal(fmt.Sprintf(`{"watermark":{"appid":"wxOther","timestamp":%d}}`, now)), domain.KindWatermark},
		{"too old", tok, seal(fmt.Sprintf(`{"watermark":{"appid":%q,"timestamp":%d}}`, appID, now-7200)), domain.KindWatermark},
		{"another user", tok, w.payload(t, key1, "o2", "x"), domain.KindWatermark},
		{"bad signature", tok, badSig, domain.KindSignature},
	}
	before := w.users.WriteCount()
	for _, c := range cases {
		_, err := w.svc.SaveUserInfo(context.Background(), "", c.token, c.in)
		if domain.KindOf(err) != c.kind || err == nil {
			t.Errorf("%s: %v, want kind %v", c.name, err, c.kind)
		}
	}
	if w.users.WriteCount() != before {
		t.Fatal("a rejected request wrote")
	}
}

func TestSaveUserInfo_ChecksAMatchingSignature(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	in := w.payload(t, key1, "o1", "Band")
	in.RawData = `{"nickName":"Band"}`
	sum := sha1.Sum([]byte(in.RawData + key1))
	in.Signature = hex.EncodeToString(sum[:])
	if _, err := w.svc.SaveUserInfo(context.Background(), "", tok, in); err != nil {
		t.Fatal(err)
	}
}

func TestSession_ExpiresAfterTTL(t *testing.T) {
	w := newWorld(t, app.Options{SessionTTL: time.Hour})
	tok := w.login(t, "c1", "o1", key1)
	w.clock.Advance(time.Hour)
	_, err := w.svc.Me(context.Background(), "", tok)
	wantKind(t, err, domain.KindUnauthenticated)
}

func TestLogout_EndsTheSessionAtOnce(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	other := w.login(t, "c2", "o1", key1)
	if err := w.svc.Logout(context.Background(), "", tok); err != nil {
		t.Fatal(err)
	}
	_, err := w.svc.Me(context.Background(), "", tok)
	wantKind(t, err, domain.KindUnauthenticated)
	wantKind(t, w.svc.Logout(context.Background(), "", tok), domain.KindUnauthenticated)
	if _, err := w.svc.Me(context.Background(), "", other); err != nil {
		t.Fatalf("the user's other session: %v", err)
	}
}

func TestStoresDown_AreUnavailable(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	down := domain.Wrap(domain.KindUnavailable, errors.New("connection refused"))
	w.users.SetErr(down)
	_, err := w.svc.SaveUserInfo(context.Background(), "", tok, w.payload(t, key1, "o1", "x"))
	wantKind(t, err, domain.KindUnavailable)
	wantKind(t, w.svc.Ready(context.Background()), domain.KindUnavailable)
	w.users.SetErr(nil)
	w.sessions.SetErr(down)
	_, err = w.svc.Me(context.Background(), "", tok)
	wantKind(t, err, domain.KindUnavailable)
	w.wechat.AddCode("c9", "o9", "", key1)
	_, err = w.svc.Login(context.Background(), "", "c9", phone)
	wantKind(t, err, domain.KindUnavailable)
	w.sessions.SetErr(nil)
	if err := w.svc.Ready(context.Background()); err != nil {
		t.Fatalf("recovered stores: %v", err)
	}
}

func TestNew_RequiresEveryDependency(t *testing.T) {
	if _, err := app.New(app.Deps{}, app.Options{SessionTTL: time.Hour}); err == nil {
		t.Fatal("accepted no dependencies")
	}
}

const greyAvatar = "https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132"

// Today's WeChat answers an anonymous profile: it must not erase what the
// user filled in, nor what an earlier real payload saved.
func TestSaveUserInfo_AnonymousPayloadErasesNothing(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	real := w.sealed(t, key1, "o1", `"nickName":"Old Real","avatarUrl":"https://thirdwx.qlogo.cn/mmopen/vi_32/real/132","gender":2,"city":"广州","language":"zh_CN"`)
	if _, err := w.svc.SaveUserInfo(ctx, "", tok, real); err != nil {
		t.Fatal(err)
	}
	nick := "Ada 🐼"
	if _, err := w.svc.EditProfile(ctx, "", tok, domain.ProfileInput{NickName: &nick}); err != nil {
		t.Fatal(err)
	}
	before := w.users.WriteCount()
	anon := w.sealed(t, key1, "o1", `"nickName":"微信用户","avatarUrl":"`+greyAvatar+`","gender":0,"city":"","province":"","country":"","language":""`)
	u, err := w.svc.SaveUserInfo(ctx, "", tok, anon)
	if err != nil {
		t.Fatal(err)
	}
	p := u.Profile
	if p.NickName != nick || p.AvatarURL != "https://thirdwx.qlogo.cn/mmopen/vi_32/real/132" || p.Gender != 2 || p.City != "广州" || p.Language != "zh_CN" {
		t.Fatalf("after an anonymous payload: %+v", p)
	}
	if w.users.WriteCount() != before {
		t.Fatal("an anonymous payload wrote")
	}
	// A real payload still updates what the user did not fill in, never what they did.
	again := w.sealed(t, key1, "o1", `"nickName":"WeChat Name","city":"深圳"`)
	if u, err = w.svc.SaveUserInfo(ctx, "", tok, again); err != nil || u.Profile.NickName != nick || u.Profile.City != "深圳" {
		t.Fatalf("a later real payload: %+v, %v", u.Profile, err)
	}
	if u.UserSet != domain.FieldNickName {
		t.Fatalf("sources: %b", u.UserSet)
	}
}

func TestEditProfile_SetsOnlyTheFieldsSent(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	if _, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key1, "o1", "From WeChat")); err != nil {
		t.Fatal(err)
	}
	city, gender := "  杭州 ", 1
	u, err := w.svc.EditProfile(ctx, "", tok, domain.ProfileInput{City: &city, Gender: &gender})
	if err != nil {
		t.Fatal(err)
	}
	if u.Profile.City != "杭州" || u.Profile.Gender != 1 || u.Profile.NickName != "From WeChat" || u.UserSet != domain.FieldCity|domain.FieldGender {
		t.Fatalf("edited %+v (sources %b)", u.Profile, u.UserSet)
	}
	for name, in := range map[string]domain.ProfileInput{
		"nothing":    {},
		"blank nick": {NickName: ptr(" \u200e\t ")},
		"long nick":  {NickName: ptr(strings.Repeat("字", domain.MaxNickNameRunes+1))},
		"gender 3":   {Gender: intPtr(3)},
		"gender -1":  {Gender: intPtr(-1)},
	} {
		before := w.users.WriteCount()
		_, err := w.svc.EditProfile(ctx, "", tok, in)
		if domain.KindOf(err) != domain.KindInvalidInput || w.users.WriteCount() != before {
			t.Errorf("%s: %v (writes %d → %d)", name, err, before, w.users.WriteCount())
		}
	}
	_, err = w.svc.EditProfile(ctx, "", "not-a-token", domain.ProfileInput{City: &city})
	wantKind(t, err, domain.KindUnauthenticated)
}

func TestSetAvatar_StoresReplacesAndDeletesUnused(t *testing.T) {
	w := newWorld(t, app.Options{})
	alice := w.login(t, "c1", "o1", key1)
	bob := w.login(t, "c2", "o2", key2)
	ctx := context.Background()
	u, err := w.svc.SetAvatar(ctx, "", alice, []byte("IMG:one"))
	if err != nil {
		t.Fatal(err)
	}
	one := domain.BlobName([]byte("IMG:one"), ".jpg")
	if u.Avatar != one || u.Profile.AvatarURL != "https://blobs.example/"+one || u.UserSet&domain.FieldAvatar == 0 {
		t.Fatalf("after the upload: %+v", u)
	}
	if _, err := w.svc.SetAvatar(ctx, "", bob, []byte("IMG:one")); err != nil { // the same image: one object
		t.Fatal(err)
	}
	if _, err := w.svc.SetAvatar(ctx, "", alice, []byte("IMG:two")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(w.blobs.Names(), ","); !strings.Contains(got, one) {
		t.Fatalf("an avatar bob still has was deleted: %s", got)
	}
	if _, err := w.svc.SetAvatar(ctx, "", bob, []byte("IMG:three")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(w.blobs.Names(), ","); strings.Contains(got, one) || len(w.blobs.Names()) != 2 {
		t.Fatalf("an avatar nobody has was kept: %s", got)
	}
	me, err := w.svc.Me(ctx, "", alice)
	if err != nil || me.Profile.AvatarURL != "https://blobs.example/"+domain.BlobName([]byte("IMG:two"), ".jpg") {
		t.Fatalf("me: %+v, %v", me.Profile, err)
	}
	// An anonymous payload's grey avatar does not replace the upload.
	if u, err := w.svc.SaveUserInfo(ctx, "", alice, w.sealed(t, key1, "o1", `"avatarUrl":"`+greyAvatar+`"`)); err != nil || u.Profile.AvatarURL != me.Profile.AvatarURL {
		t.Fatalf("after an anonymous payload: %+v, %v", u.Profile, err)
	}
}

func TestSetAvatar_FailuresWriteNothing(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	for name, c := range map[string]struct {
		data []byte
		kind domain.Kind
	}{
		"empty":    {nil, domain.KindInvalidInput},
		"no image": {[]byte("<script>"), domain.KindInvalidInput},
		"bomb":     {[]byte("BOMB:"), domain.KindTooLarge},
	} {
		before := w.users.WriteCount()
		_, err := w.svc.SetAvatar(ctx, "", tok, c.data)
		if domain.KindOf(err) != c.kind || w.users.WriteCount() != before || len(w.blobs.Names()) != 0 {
			t.Errorf("%s: %v, writes %d → %d, blobs %v", name, err, before, w.users.WriteCount(), w.blobs.Names())
		}
	}
	w.blobs.SetErr(domain.Wrap(domain.KindUnavailable, errors.New("object storage down")))
	before := w.users.WriteCount()
	_, err := w.svc.SetAvatar(ctx, "", tok, []byte("IMG:x"))
	wantKind(t, err, domain.KindUnavailable)
	if w.users.WriteCount() != before {
		t.Fatal("a failed store changed the profile")
	}
}

func ptr(s string) *string { return &s }
func intPtr(n int) *int    { return &n }

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

// A re-sent profile is answered as the user is now, after every other
// change (the user cache's copy follows every write: adapters/usercache).
func TestSaveUserInfo_ResentProfileAnswersTheUserAsItIsNow(t *testing.T) {
	ctx := context.Background()
	for name, change := range map[string]func(w *world, tok string) error{
		"edit": func(w *world, tok string) error {
			_, err := w.svc.EditProfile(ctx, "", tok, domain.ProfileInput{NickName: ptr("Typed")})
			return err
		},
		"avatar": func(w *world, tok string) error {
			_, err := w.svc.SetAvatar(ctx, "", tok, []byte("IMG:an image"))
			return err
		},
		"other profile": func(w *world, tok string) error {
			_, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key1, "o1", "Typed"))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, app.Options{})
			tok := w.login(t, "c1", "o1", key1)
			if _, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key1, "o1", "From WeChat")); err != nil {
				t.Fatal(err)
			}
			if err := change(w, tok); err != nil {
				t.Fatal(err)
			}
			want, err := w.users.Get(ctx, domain.Identity{AppID: appID, OpenID: "o1"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key1, "o1", "From WeChat"))
			if err != nil {
				t.Fatal(err)
			}
			if name == "other profile" {
				want.Profile.NickName = "From WeChat" // the payload's, saved again
			}
			if got.Profile.NickName != want.Profile.NickName || got.Avatar != want.Avatar {
				t.Fatalf("answered %q (avatar %q), want %q (avatar %q)", got.Profile.NickName, got.Avatar, want.Profile.NickName, want.Avatar)
			}
		})
	}
}

// A changed profile keeps a change made meanwhile (straight in the
// database, say).
func TestSaveUserInfo_AnotherProfileKeepsChangesMadeMeanwhile(t *testing.T) {
	w := newWorld(t, app.Options{})
	ctx := context.Background()
	tok := w.login(t, "c1", "o1", key1)
	if _, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key1, "o1", "First")); err != nil {
		t.Fatal(err)
	}
	id := domain.Identity{AppID: appID, OpenID: "o1"}
	if _, err := w.users.UpdateUser(ctx, id, func(u *domain.User) (bool, error) { // behind the use case's back
		u.Profile.Province, u.UserSet = "Zhejiang", domain.FieldProvince
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key1, "o1", "Second"))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := w.users.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for name, u := range map[string]domain.User{"answered": got, "stored": stored} {
		if u.Profile.NickName != "Second" || u.Profile.Province != "Zhejiang" || u.Profile.City != "广州" {
			t.Errorf("%s %+v", name, u.Profile)
		}
	}
}

// A login whose user cannot be stored leaves no session behind. (A
// returning user's login without the database is the user cache's:
// adapters/usercache.)
func TestLogin_AFailedUserStoreLeavesNoSession(t *testing.T) {
	w := newWorld(t, app.Options{})
	ctx := context.Background()
	w.users.SetErr(errors.New("the user database is down"))
	before := w.sessions.Len()
	w.wechat.AddCode("c3", "o-new", "", key2)
	if _, err := w.svc.Login(ctx, "", "c3", phone); err == nil {
		t.Fatal("a new user logged in without the user database")
	}
	if after := w.sessions.Len(); after != before {
		t.Fatalf("a failed login left a session: %d -> %d", before, after)
	}
}

// A user deleted from the database behind the sessions' back: the next
// request that needs the row is code 2, and the next login recreates the
// user.
func TestVanishedUser_NextLoginRecreatesIt(t *testing.T) {
	w := newWorld(t, app.Options{})
	ctx := context.Background()
	tok := w.login(t, "c1", "o1", key1)
	if _, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key1, "o1", "Here")); err != nil {
		t.Fatal(err)
	}
	id := domain.Identity{AppID: appID, OpenID: "o1"}
	if err := w.users.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err := w.svc.Me(ctx, "", tok)
	wantKind(t, err, domain.KindUnauthenticated)
	tok = w.login(t, "c2", "o1", key2)
	if _, err := w.users.Get(ctx, id); err != nil {
		t.Fatalf("the login after did not recreate the user: %v", err)
	}
	if _, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key2, "o1", "Here")); err != nil {
		t.Fatalf("the same profile after: %v", err)
	}
}

// A login's profile shows the avatar the user uploaded, as every other
// profile does.
func TestLogin_ProfileShowsTheUploadedAvatar(t *testing.T) {
	w := newWorld(t, app.Options{})
	ctx := context.Background()
	tok := w.login(t, "c1", "o1", key1)
	u, err := w.svc.SetAvatar(ctx, "", tok, []byte("IMG:mine"))
	if err != nil {
		t.Fatal(err)
	}
	w.wechat.AddCode("c2", "o1", "", key2)
	res, err := w.svc.Login(ctx, "", "c2", phone)
	if err != nil || res.User.Profile.AvatarURL != u.Profile.AvatarURL || u.Profile.AvatarURL == "" {
		t.Fatalf("login profile avatar %q, want %q (%v)", res.User.Profile.AvatarURL, u.Profile.AvatarURL, err)
	}
}
