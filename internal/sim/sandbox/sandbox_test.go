package sandbox_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"wxbackend/ports"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/wechat"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
)

// clock is a settable time for code expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func start(t *testing.T, o sandbox.Options) (*sandbox.Sandbox, string) {
	t.Helper()
	sb := sandbox.New(o)
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	return sb, srv.URL
}

type reply struct {
	SessionKey string `json:"session_key"`
	OpenID     string `json:"openid"`
	UnionID    string `json:"unionid"`
	ErrCode    int    `json:"errcode"`
	ErrMsg     string `json:"errmsg"`
}

// exchange calls jscode2session as a backend would.
func exchange(t *testing.T, base string, q url.Values) (reply, *http.Response) {
	t.Helper()
	resp, err := http.Get(base + "/sns/jscode2session?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r reply
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("not JSON: %q", b)
	}
	return r, resp
}

func query(code string) url.Values {
	return url.Values{"appid": {sandbox.DefaultAppID}, "secret": {sandbox.DefaultAppSecret},
		"js_code": {code}, "grant_type": {"authorization_code"}}
}

func TestJSCode2Session_WireFormatAndErrcodes(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}
	sb, base := start(t, sandbox.Options{Now: c.now})
	ctx := context.Background()
	code, err := sb.Login(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	r, resp := exchange(t, base, query(code))
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain" {
		t.Errorf("content type %q, WeChat sends text/plain", ct)
	}
	u, _ := sb.User(ctx, "alice")
	key, _ := sb.SessionKey("alice")
	if r.ErrCode != 0 || r.OpenID != u.OpenID || r.SessionKey != key.Base64() || len(r.OpenID) != 28 {
		t.Fatalf("exchange: %+v, want openid %s and the current key", r, u.OpenID)
	}
	if r.UnionID != "" {
		t.Errorf("unionid %q without UnionIDs", r.UnionID)
	}
	if r, _ := exchange(t, base, query(code)); r.ErrCode != 40163 {
		t.Errorf("used code: %+v, want 40163", r)
	}

	expired, _ := sb.Login(ctx, "alice")
	c.add(sandbox.CodeTTL)
	fresh, _ := sb.Login(ctx, "alice")
	for name, tc := range map[string]struct {
		q    url.Values
		want int
	}{
		"expired code":  {query(expired), 40029},
		"unknown code":  {query("not-a-code"), 40029},
		"missing code":  {query(""), 41008},
		"wrong appid":   {url.Values{"appid": {"wxother"}, "secret": {sandbox.DefaultAppSecret}, "js_code": {fresh}}, 40013},
		"wrong secret":  {url.Values{"appid": {sandbox.DefaultAppID}, "secret": {"nope"}, "js_code": {fresh}}, 40125},
		"bad grantType": {url.Values{"appid": {sandbox.DefaultAppID}, "secret": {sandbox.DefaultAppSecret}, "js_code": {fresh}, "grant_type": {"x"}}, 40002},
	} {
		r, resp := exchange(t, base, tc.q)
		if r.ErrCode != tc.want || resp.StatusCode != 200 || !strings.Contains(r.ErrMsg, "rid: ") {
			t.Errorf("%s: %d %+v, want errcode %d with a rid", name, resp.StatusCode, r, tc.want)
		}
	}
	// The rejected calls spent nothing: the fresh code still works, once.
	if r, _ := exchange(t, base, query(fresh)); r.ErrCode != 0 {
		t.Fatalf("fresh code after rejections: %+v", r)
	}
	if sb.Calls() != 9 {
		t.Errorf("counted %d calls, made 9", sb.Calls())
	}
}

func TestUnionIDs(t *testing.T) {
	sb, base := start(t, sandbox.Options{UnionIDs: true})
	code, _ := sb.Login(context.Background(), "bob")
	r, _ := exchange(t, base, query(code))
	u, _ := sb.User(context.Background(), "bob")
	if r.UnionID == "" || r.UnionID != u.UnionID || r.UnionID == r.OpenID {
		t.Fatalf("unionid %q, user %+v", r.UnionID, u)
	}
}

// open decrypts and checks info as the backend does.
func open(t *testing.T, key domain.SessionKey, info sandbox.UserInfo) (domain.UserInfo, error) {
	t.Helper()
	plain, err := aescbc.NewDecrypter().Decrypt(key, info.EncryptedData, info.IV)
	if err != nil {
		return domain.UserInfo{}, err
	}
	return domain.ParseUserInfo(plain)
}

func TestGetUserInfo_SealedUnderTheCurrentKeyAndRotatedByLogin(t *testing.T) {
	sb := sandbox.New(sandbox.Options{UnionIDs: true})
	ctx := context.Background()
	if _, err := sb.GetUserInfo(ctx, "carol"); !errors.Is(err, sandbox.ErrNotLoggedIn) {
		t.Fatalf("before wx.login: %v", err)
	}
	nick := "Carol 🐼👩‍💻 小程序 مرحبا <&>"
	if err := sb.SetProfile(ctx, "carol", sandbox.Profile{NickName: nick, Gender: 2, Language: "zh_CN", City: "深圳", Country: "CN"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Login(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	key, _ := sb.SessionKey("carol")
	info, err := sb.GetUserInfo(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	got, err := open(t, key, info)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := sb.User(ctx, "carol")
	sess := domain.Session{AppID: sb.AppID(), OpenID: u.OpenID, SessionKey: key}
	if err := domain.CheckUserInfo(sess, got, time.Now(), time.Minute); err != nil {
		t.Fatalf("watermark: %v", err)
	}
	if got.Profile.NickName != nick || got.OpenID != u.OpenID || got.UnionID != u.UnionID || got.Profile.City != "深圳" {
		t.Fatalf("decrypted %+v", got)
	}
	if err := domain.VerifySignature(got, info.RawData, info.Signature, key); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if !strings.Contains(info.RawData, nick) || strings.Contains(info.RawData, "openId") {
		t.Fatalf("rawData %q: the public profile, unescaped, without ids", info.RawData)
	}

	// wx.login again: the key changes and the old payload no longer opens.
	if _, err := sb.Login(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	newKey, _ := sb.SessionKey("carol")
	if newKey.Base64() == key.Base64() {
		t.Fatal("wx.login did not rotate the session_key")
	}
	if got, err := open(t, newKey, info); err == nil && got.Profile.NickName == nick {
		t.Fatal("data sealed under the old key opens under the new one")
	}
	if err := domain.VerifySignature(got, info.RawData, info.Signature, newKey); err == nil {
		t.Fatal("the old signature verifies under the new key")
	}
}

func TestBadUserNames(t *testing.T) {
	sb := sandbox.New(sandbox.Options{})
	for _, name := range []string{"", strings.Repeat("x", 65), "\xff"} {
		if _, err := sb.Login(context.Background(), name); !errors.Is(err, sandbox.ErrBadUser) {
			t.Errorf("user %q: %v", name, err)
		}
	}
}

// TestPhone_ClientFaceOverHTTP drives the client face as cmd/wxsim and the
// Node harness do.
func TestPhone_ClientFaceOverHTTP(t *testing.T) {
	sb, base := start(t, sandbox.Options{})
	ph := sandbox.NewPhone(base, nil)
	ctx := context.Background()
	if ok, err := ph.CheckSession(ctx, "dave"); ok || err != nil {
		t.Fatalf("checkSession before login: %v %v", ok, err)
	}
	if _, err := ph.GetUserInfo(ctx, "dave"); err == nil {
		t.Fatal("getUserInfo before login succeeded")
	}
	u, err := ph.SetProfile(ctx, "dave", sandbox.Profile{NickName: "Dave 🚀"})
	if err != nil || u.Profile.NickName != "Dave 🚀" {
		t.Fatalf("set profile: %+v %v", u, err)
	}
	code, err := ph.Login(ctx, "dave")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := ph.CheckSession(ctx, "dave"); !ok || err != nil {
		t.Fatalf("checkSession after login: %v %v", ok, err)
	}
	r, _ := exchange(t, base, query(code))
	if r.OpenID != u.OpenID {
		t.Fatalf("the phone's code logs in %q, want %q", r.OpenID, u.OpenID)
	}
	info, err := ph.GetUserInfo(ctx, "dave")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := sb.SessionKey("dave")
	if got, err := open(t, key, info); err != nil || got.Profile.NickName != "Dave 🚀" {
		t.Fatalf("payload over HTTP: %+v %v", got, err)
	}
	if _, err := ph.Login(ctx, strings.Repeat("x", 65)); err == nil {
		t.Fatal("a bad user name logged in")
	}
}

// TestWeChatClient_AgainstTheSandbox runs the backend's WeChat adapter against
// the sandbox, faults included.
func TestWeChatClient_AgainstTheSandbox(t *testing.T) {
	sb, base := start(t, sandbox.Options{})
	c, err := wechat.NewClient(wechat.Options{AppID: sandbox.DefaultAppID, Secret: sandbox.DefaultAppSecret,
		BaseURL: base, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	code, _ := sb.Login(ctx, "erin")
	s, err := c.Code2Session(ctx, code)
	u, _ := sb.User(ctx, "erin")
	key, _ := sb.SessionKey("erin")
	if err != nil || s.OpenID != u.OpenID || s.SessionKey.Base64() != key.Base64() {
		t.Fatalf("code2session: %+v %v", s, err)
	}
	if _, err := c.Code2Session(ctx, code); domain.KindOf(err) != domain.KindBadCode {
		t.Fatalf("reused code: %v", err)
	}
	for _, tc := range []struct {
		name  string
		fault sandbox.Fault
		want  domain.Kind
	}{
		{"busy", sandbox.Fault{Errcode: -1}, domain.KindUpstream},
		{"rate limited", sandbox.Fault{Errcode: 45011}, domain.KindRateLimited},
		{"risky user", sandbox.Fault{Errcode: 40226}, domain.KindBadCode},
		{"5xx", sandbox.Fault{Status: 502, Body: "<html>bad gateway</html>"}, domain.KindUpstream},
		{"garbage", sandbox.Fault{Status: 200, Body: "\x00\x01not json"}, domain.KindUpstream},
		{"reset", sandbox.Fault{Reset: true, Times: 2}, domain.KindUpstream},
		{"hung", sandbox.Fault{Hang: true}, domain.KindUpstreamTimeout},
	} {
		code, _ := sb.Login(ctx, "erin")
		sb.InjectFault(tc.fault)
		start := time.Now()
		if _, err := c.Code2Session(ctx, code); domain.KindOf(err) != tc.want {
			t.Errorf("%s: %v, want kind %v", tc.name, err, tc.want)
		} else if strings.Contains(err.Error(), sandbox.DefaultAppSecret) {
			t.Errorf("%s: the error shows the app secret: %v", tc.name, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s took %v with a 300ms timeout", tc.name, d)
		}
		sb.ClearFaults() // a reset on a fresh connection is not retried: one may be left
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8090", "127.0.0.2:1", "[::1]:8090", "localhost:0"} {
		if err := sandbox.CheckLoopback(addr); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	for _, addr := range []string{":8090", "0.0.0.0:8090", "[::]:8090", "10.0.0.5:8090", "example.com:80", "127.0.0.1"} {
		if err := sandbox.CheckLoopback(addr); err == nil {
			t.Errorf("%s accepted", addr)
		}
		if ln, err := sandbox.Listen(addr); err == nil {
			ln.Close()
			t.Errorf("Listen(%s) listened", addr)
		}
	}
}

// Today's WeChat answers getUserInfo anonymously; a user switched to legacy
// mode gets the real profile back, and can be switched again.
func TestGetUserInfo_AnonymousTodayRealInLegacyMode(t *testing.T) {
	sb, base := start(t, sandbox.Options{})
	ph := sandbox.NewPhone(base, nil)
	ctx := context.Background()
	if _, err := ph.Login(ctx, "erin"); err != nil {
		t.Fatal(err)
	}
	key, _ := sb.SessionKey("erin")
	payload := func() sandbox.Profile {
		t.Helper()
		info, err := ph.GetUserInfo(ctx, "erin")
		if err != nil {
			t.Fatal(err)
		}
		got, err := open(t, key, info)
		if err != nil {
			t.Fatal(err)
		}
		if info.UserInfo.NickName != got.Profile.NickName {
			t.Fatalf("userInfo %q and the sealed payload %q differ", info.UserInfo.NickName, got.Profile.NickName)
		}
		return sandbox.Profile{NickName: got.Profile.NickName, AvatarURL: got.Profile.AvatarURL, Gender: got.Profile.Gender, City: got.Profile.City}
	}
	if p := payload(); p != (sandbox.Profile{NickName: "微信用户", AvatarURL: sandbox.AnonymousAvatarURL}) {
		t.Fatalf("today's getUserInfo: %+v", p)
	}
	if _, err := ph.SetProfile(ctx, "erin", sandbox.Profile{NickName: "Erin 🌸", City: "成都", Gender: 2}); err != nil {
		t.Fatal(err)
	}
	if p := payload(); p.NickName != "Erin 🌸" || p.City != "成都" {
		t.Fatalf("legacy getUserInfo: %+v", p)
	}
	u, err := ph.SetLegacy(ctx, "erin", false)
	if err != nil || u.Legacy {
		t.Fatalf("back to today: %+v %v", u, err)
	}
	if p := payload(); p.NickName != "微信用户" {
		t.Fatalf("after switching back: %+v", p)
	}
}

// chooseAvatar hands over a real JPEG that carries EXIF GPS, over HTTP too.
func TestChooseAvatar_IsAPhotoWithGPS(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	data, err := sandbox.NewPhone(base, nil).ChooseAvatar(context.Background(), "frank")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width != 640 || cfg.Height != 480 {
		t.Fatalf("%+v, %v", cfg, err)
	}
	if !bytes.Contains(data, []byte("Exif\x00\x00II")) || !bytes.Contains(data, []byte(sandbox.GPSMarker)) {
		t.Fatal("no EXIF GPS block")
	}
	if !bytes.Equal(data, sandbox.ChosenAvatar("frank")) || bytes.Equal(data, sandbox.ChosenAvatar("grace")) {
		t.Fatal("the photo is not the user's own")
	}
	ph := sandbox.NewPhone(base, nil)
	if v, err := ph.NicknameInput(context.Background(), "frank"); err != nil || v != "frank" {
		t.Fatalf("nickname input: %q %v", v, err)
	}
	if _, err := ph.SetProfile(context.Background(), "frank", sandbox.Profile{NickName: "Frank 🐸"}); err != nil {
		t.Fatal(err)
	}
	if v, err := ph.NicknameInput(context.Background(), "frank"); err != nil || v != "Frank 🐸" {
		t.Fatalf("nickname input: %q %v", v, err)
	}
}

// The session signature, computed by Python's hmac module:
// hmac.new(b"tiihtNczf5v6AKRyjwEUhQ==", b"", hashlib.sha256).hexdigest()
const pythonSignature = "7154f9f8b4b76b92f541cbf0e37d48840fa06e5e42da92a6f80168a1516a4735"

// checksession's signature is keyed by the session_key's base64 text, not
// its decoded bytes (a mistake several SDKs make): checked against a value
// computed outside Go, and against the standard library here.
func TestCheckSessionSignature_MatchesAnIndependentComputation(t *testing.T) {
	key, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	m := hmac.New(sha256.New, []byte("tiihtNczf5v6AKRyjwEUhQ=="))
	here := hex.EncodeToString(m.Sum(nil))
	for name, got := range map[string]string{
		"backend": wechat.SessionSignature(key), "sandbox": sandbox.CheckSessionSignature(key.Base64()), "stdlib": here,
	} {
		if got != pythonSignature {
			t.Errorf("%s: %s, want %s", name, got, pythonSignature)
		}
	}
	wrong := hmac.New(sha256.New, key.Bytes()) // keyed by the decoded bytes
	if hex.EncodeToString(wrong.Sum(nil)) == pythonSignature {
		t.Fatal("the test cannot tell the two keyings apart")
	}
}

// The backend's client against the sandbox's server API, over HTTP.
func TestWeChatClient_ServerAPIAgainstTheSandbox(t *testing.T) {
	sb, base := start(t, sandbox.Options{})
	c, err := wechat.NewClient(wechat.Options{AppID: sandbox.DefaultAppID, Secret: sandbox.DefaultAppSecret,
		BaseURL: base, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	tok, life, err := c.StableToken(ctx, false)
	if err != nil || tok.IsZero() || life != sandbox.TokenTTL {
		t.Fatalf("stable_token: %v %v %v", tok, life, err)
	}
	again, _, _ := c.StableToken(ctx, false)
	if again != tok || sb.Counters().TokensIssued != 1 {
		t.Fatal("normal mode issued a new token while the old was valid")
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v", tok, tok, tok), tok.Reveal()) {
		t.Fatal("an access token prints")
	}

	// Phone numbers: a code once.
	if _, err := sb.Login(ctx, "pat"); err != nil {
		t.Fatal(err)
	}
	code, err := sb.PhoneCode(ctx, "pat")
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.PhoneNumber(ctx, tok, code)
	if err != nil || info.Phone.PureNumber != sandbox.PhoneOf("pat") || info.Phone.CountryCode != "86" || info.Watermark.AppID != sandbox.DefaultAppID {
		t.Fatalf("phone: %+v %v", info, err)
	}
	if _, err := c.PhoneNumber(ctx, tok, code); domain.KindOf(err) != domain.KindBadCode {
		t.Fatalf("a used phone code: %v", err)
	}

	// Session check: the current key is valid, a replaced one is not.
	u, _ := sb.User(ctx, "pat")
	old, _ := sb.SessionKey("pat")
	if ok, err := c.CheckSession(ctx, tok, u.OpenID, old); err != nil || !ok {
		t.Fatalf("checksession with the current key: %v %v", ok, err)
	}
	_, _ = sb.Login(ctx, "pat") // the key rotates
	if ok, err := c.CheckSession(ctx, tok, u.OpenID, old); err != nil || ok {
		t.Fatalf("checksession with a replaced key: %v %v", ok, err)
	}

	// resetusersessionkey: signed with the current key, it replaces it.
	cur, _ := sb.SessionKey("pat")
	q := url.Values{"access_token": {tok.Reveal()}, "openid": {u.OpenID}, "sig_method": {"hmac_sha256"}, "signature": {sandbox.CheckSessionSignature(cur.Base64())}}
	resp, err := http.Get(base + "/wxa/resetusersessionkey?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	var reset struct {
		ErrCode    int    `json:"errcode"`
		SessionKey string `json:"session_key"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&reset)
	resp.Body.Close()
	if now, _ := sb.SessionKey("pat"); reset.ErrCode != 0 || reset.SessionKey != now.Base64() || now == cur {
		t.Fatalf("reset: %+v", reset)
	}

	for text, want := range map[string]domain.Verdict{"Hello 🌸": domain.VerdictPass, "Casino Royale": domain.VerdictRisky, "海外代购": domain.VerdictReview} {
		if v, err := c.CheckText(ctx, tok, u.OpenID, text); err != nil || v != want {
			t.Errorf("%q: %v %v, want %v", text, v, err, want)
		}
	}

	// A token invalidated elsewhere is rejected in a way the core can tell.
	sb.InvalidateAccessToken()
	_, err = c.CheckText(ctx, tok, u.OpenID, "x")
	if !errors.Is(err, ports.ErrAccessTokenRejected) || domain.KindOf(err) != domain.KindUpstream {
		t.Fatalf("an invalidated token: %v", err)
	}
	if strings.Contains(err.Error(), tok.Reveal()) {
		t.Fatal("the token is in the error")
	}
	fresh, _, _ := c.StableToken(ctx, false)
	if fresh == tok {
		t.Fatal("normal mode answered an invalidated token")
	}
	forced, _, _ := c.StableToken(ctx, true)
	if forced == fresh || sb.Counters().ForcedTokens != 1 {
		t.Fatal("force_refresh issued no new token")
	}
	if _, err := c.CheckText(ctx, fresh, u.OpenID, "x"); err != nil {
		t.Fatalf("the token before a forced refresh serves 5 minutes more: %v", err)
	}

	bad, _ := wechat.NewClient(wechat.Options{AppID: sandbox.DefaultAppID, Secret: "wrong-secret", BaseURL: base, Timeout: time.Second})
	if _, _, err := bad.StableToken(ctx, false); domain.KindOf(err) != domain.KindUpstream || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("a wrong secret: %v", err)
	}
}

// Codes are remembered for twice their lifetime (to answer "used"), then
// forgotten, oldest first, as new ones are issued: a long load run keeps a
// bounded set, and wx.login stays as fast at the end as at the start.
func TestCodes_AreForgottenAfterTwiceTheirLifetime(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	sb := sandbox.New(sandbox.Options{AppID: "wxsandbox000000000", AppSecret: "s", CodeTTL: time.Minute,
		Now: func() time.Time { return now }})
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		if _, err := sb.Login(ctx, fmt.Sprint("user", i%7)); err != nil {
			t.Fatal(err)
		}
		if _, err := sb.PhoneCode(ctx, "user0"); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	if n := sb.CodesHeld(); n != 200 {
		t.Fatalf("%d codes held within their lifetime, want 200", n)
	}
	now = now.Add(2 * time.Minute) // every code issued more than 2 minutes ago goes
	if _, err := sb.Login(ctx, "user1"); err != nil {
		t.Fatal(err)
	}
	if n := sb.CodesHeld(); n > 1+2*21 { // the new code, and those of the last 20 s
		t.Fatalf("%d codes held after twice their lifetime", n)
	}
}

// BenchmarkLogin_WithManyCodesHeld: a wx.login costs the same with 200,000
// codes held as with none.
func BenchmarkLogin_WithManyCodesHeld(b *testing.B) {
	sb := sandbox.New(sandbox.Options{AppID: "wxsandbox000000000", AppSecret: "s"})
	ctx := context.Background()
	for i := 0; i < 200_000; i++ {
		if _, err := sb.Login(ctx, "user"); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := sb.Login(ctx, "user"); err != nil {
			b.Fatal(err)
		}
	}
}
