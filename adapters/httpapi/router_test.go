package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/adapters/httpapi/openapitest"
	"wxbackend/adapters/imaging"
	"wxbackend/adapters/memory"
	"wxbackend/adapters/system"
	"wxbackend/app"
	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

const (
	appID = "wx4f4bc4dec97d474b"
	key1  = "tiihtNczf5v6AKRyjwEUhQ=="
)

// fixture is the router in front of the use cases on the real in-memory
// adapters (session store, token cache, decrypter), with fakes for WeChat
// and for the stores a test makes fail (users, blobs).
type fixture struct {
	h        http.Handler
	users    *portfake.Users
	sessions *memory.SessionStore
	wechat   *portfake.WeChat
	clock    *portfake.Clock
	blobs    *portfake.Blobs
	logs     *strings.Builder
	app      *app.App
}

// newFixture builds a fixture; wrap, when set, decorates the user repo.
func newFixture(t testing.TB, wrap func(ports.UserRepo) ports.UserRepo) *fixture {
	t.Helper()
	f := &fixture{users: portfake.NewUsers(), wechat: portfake.NewWeChat(appID), logs: &strings.Builder{},
		clock: portfake.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))}
	f.sessions = memory.NewSessionStore(memory.Options{CleanupInterval: time.Hour}, 0, 0, f.clock)
	var users ports.UserRepo = f.users
	if wrap != nil {
		users = wrap(users)
	}
	f.blobs = portfake.NewBlobs()
	var images imaging.Options
	setting.Defaults(&images)
	svc, err := app.New(app.Deps{Sessions: f.sessions, Users: users, Decrypter: aescbc.NewDecrypter(),
		Apps: []ports.WeChat{f.wechat}, Clock: f.clock, Tokens: &portfake.Tokens{}, Blobs: f.blobs, Images: imaging.New(images),
		AccessTokens: memory.NewTokenCache(f.clock),
		Inbox:        memory.NewInbox(), PushApps: []app.PushApp{{AppID: appID, Token: pushToken}},
		Consents: memory.NewConsents(), Outbox: memory.NewOutbox()},
		app.Options{SessionTTL: time.Hour, Push: app.PushOptions{TimestampWindow: 5 * time.Minute, StoreTimeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	f.app = svc
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.h = newRouterWith(t, svc, log, httpapi.Options{MaxBodyBytes: 4096, ReadyTimeout: time.Second,
		AvatarMaxBytes: 256 << 10, ServeAvatars: true}, f.clock, httpapi.Limits{})
	return f
}

// newRouter is httpapi.NewRouter for a test, on the wall clock, without limits.
func newRouter(tb testing.TB, a *app.App, log *slog.Logger, o httpapi.Options) http.Handler {
	tb.Helper()
	return newRouterWith(tb, a, log, o, system.Clock{}, httpapi.Limits{})
}

// newRouterWith is httpapi.NewRouter for a test, on clock, with limits.
func newRouterWith(tb testing.TB, a *app.App, log *slog.Logger, o httpapi.Options, clock ports.Clock, limits httpapi.Limits) http.Handler {
	tb.Helper()
	h, err := httpapi.NewRouter(a, log, o, clock, limits, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// reply is an answer as the recorder got it.
type reply struct {
	HTTP int
	apiclient.Raw
	raw string
}

// do sends a request; body is JSON when it is a map, a form when url.Values,
// and raw bytes when a string (with contentType).
func (f *fixture) do(t *testing.T, method, path string, body any, header ...string) reply {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case map[string]any:
		js, _ := json.Marshal(b)
		rd, ct = strings.NewReader(string(js)), "application/json"
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd = strings.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if err := openapitest.Check(req, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
		t.Error(err)
	}
	var r reply
	if err := json.Unmarshal(rec.Body.Bytes(), &r.Raw); err != nil {
		t.Fatalf("%s %s: body is not the JSON envelope: %q", method, path, rec.Body.String())
	}
	if r.Code != r.Status {
		t.Fatalf("code %d and status %d differ", r.Code, r.Status)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json; charset=utf-8" {
		t.Fatalf("content type %q", got)
	}
	r.HTTP, r.raw = rec.Code, rec.Body.String()
	return r
}

func want(t *testing.T, r reply, code, status int) {
	t.Helper()
	if r.Code != code || r.HTTP != status {
		t.Fatalf("got code %d HTTP %d (%s), want code %d HTTP %d", r.Code, r.HTTP, r.raw, code, status)
	}
}

func (f *fixture) login(t *testing.T, code string) string {
	t.Helper()
	f.wechat.AddCode(code, "o1", "", key1)
	r := f.do(t, "POST", "/login/", map[string]any{"code": code})
	want(t, r, 0, 200)
	var d struct{ Token string }
	_ = json.Unmarshal(r.Data, &d)
	return d.Token
}

// sessionCount returns how many tokens the session store holds.
func (f *fixture) sessionCount(t *testing.T) int {
	t.Helper()
	n, err := f.sessions.Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// iv is the iv every test payload is sealed under; ivText is it as a client
// sends it.
var (
	iv     = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	ivText = base64.StdEncoding.EncodeToString(iv[:])
)

// sealed encrypts plain under key1 and iv as WeChat does (AES-128-CBC,
// PKCS#7), for the real decrypter to open.
func sealed(t *testing.T, plain string) string {
	t.Helper()
	k, err := domain.ParseSessionKey(key1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := aescbc.Encrypt(k, iv, []byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const goodPayload = `{"openId":"o1","nickName":"Band 🎸","avatarUrl":"https://thirdwx.qlogo.cn/mmopen/vi_32/a/132?x=1&y=2","gender":1,"language":"zh_CN","city":"广州","province":"广东","country":"CN","watermark":{"appid":"` + appID + `","timestamp":1}}`

func TestClassicRoutes_SpeakTheTutorialsShapes(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	r := f.do(t, "POST", "/getinfo/", map[string]any{"iv": ivText, "encrypedData": sealed(t, goodPayload), "token": tok})
	want(t, r, 0, 200)
	if r.Msg != "ok" {
		t.Fatalf("msg %q", r.Msg)
	}
	var d map[string]string
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatal(err)
	}
	wantData := map[string]string{"name": "Band 🎸", "avatar": "https://thirdwx.qlogo.cn/mmopen/vi_32/a/132?x=1&y=2", "language": "zh_CN", "province": "广东", "country": "CN", "city": "广州"}
	if fmt.Sprint(d) != fmt.Sprint(wantData) {
		t.Fatalf("data %v, want %v", d, wantData)
	}
	if !strings.Contains(r.raw, "x=1&y=2") {
		t.Fatalf("HTML-escaped output: %s", r.raw)
	}
}

func TestV1Routes(t *testing.T) {
	f := newFixture(t, nil)
	f.wechat.AddCode("c1", "o1", "u1", key1)
	r := f.do(t, "POST", "/api/v1/login", url.Values{"code": {"c1"}})
	want(t, r, 0, 200)
	var login struct {
		Token     string `json:"token"`
		ExpiresIn int    `json:"expires_in"`
		User      struct {
			OpenID  string `json:"openId"`
			UnionID string `json:"unionId"`
		} `json:"user"`
	}
	if err := json.Unmarshal(r.Data, &login); err != nil || login.ExpiresIn != 3600 || login.User.OpenID != "o1" || login.User.UnionID != "u1" {
		t.Fatalf("login data %s", r.Data)
	}
	bearer := []string{"Authorization", "Bearer " + login.Token}
	r = f.do(t, "POST", "/api/v1/userinfo", url.Values{"encryptedData": {sealed(t, goodPayload)}, "iv": {ivText}}, bearer...)
	want(t, r, 0, 200)
	var p map[string]any
	_ = json.Unmarshal(r.Data, &p)
	for _, k := range []string{"openId", "unionId", "nickName", "avatarUrl", "gender", "language", "city", "province", "country", "updatedAt"} {
		if _, ok := p[k]; !ok {
			t.Fatalf("profile lacks %s: %s", k, r.Data)
		}
	}
	if p["nickName"] != "Band 🎸" {
		t.Fatalf("profile %v", p)
	}
	r = f.do(t, "GET", "/api/v1/me", nil, bearer...)
	want(t, r, 0, 200)
	r = f.do(t, "POST", "/api/v1/logout", nil, bearer...)
	want(t, r, 0, 200)
	if string(r.Data) != "null" {
		t.Fatalf("logout data %s", r.Data)
	}
	want(t, f.do(t, "GET", "/api/v1/me", nil, bearer...), 2, 401)
}

func TestErrors_MapToTheContractCodes(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	other := f.login(t, "c2")
	body := func(data string) map[string]any {
		return map[string]any{"iv": ivText, "encryptedData": data, "token": tok}
	}
	f.wechat.FailCode("limited", domain.Wrap(domain.KindRateLimited, errors.New("errcode 45011")))
	f.wechat.FailCode("down", domain.Wrap(domain.KindUpstream, errors.New("dial")))
	f.wechat.FailCode("slow", domain.Wrap(domain.KindUpstreamTimeout, errors.New("timeout")))
	cases := []struct {
		name         string
		method, path string
		body         any
		header       []string
		code, status int
		msg          string
	}{
		{"login without code", "POST", "/login/", map[string]any{}, nil, 1, 400, "缺少参数!"},
		{"getinfo without iv", "POST", "/getinfo/", map[string]any{"encrypedData": "x", "token": tok}, nil, 1, 400, "缺少参数!"},
		{"code of wrong type", "POST", "/login/", map[string]any{"code": 5}, nil, 1, 400, ""},
		{"body not an object", "POST", "/login/", `[1]`, []string{"Content-Type", "application/json"}, 1, 400, ""},
		{"token missing", "POST", "/getinfo/", map[string]any{"iv": ivText, "encrypedData": "x"}, nil, 2, 401, "无效的token"},
		{"token unknown", "GET", "/api/v1/me", nil, []string{"Authorization", "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 2, 401, "无效的token"},
		{"not a bearer", "GET", "/api/v1/me", nil, []string{"Authorization", "Basic Zm9vOmJhcg=="}, 2, 401, ""},
		{"tokens disagree", "POST", "/getinfo/", body(sealed(t, goodPayload)), []string{"Authorization", "Bearer " + other}, 1, 400, ""},
		{"code rejected", "POST", "/login/", map[string]any{"code": "nope"}, nil, 3, 400, ""},
		{"undecryptable", "POST", "/getinfo/", body(sealed(t, "not json")), nil, 4, 400, ""},
		{"watermark", "POST", "/getinfo/", body(sealed(t, `{"watermark":{"appid":"wxOther"}}`)), nil, 5, 400, ""},
		{"signature", "POST", "/api/v1/userinfo", map[string]any{"iv": ivText, "encryptedData": sealed(t, goodPayload), "token": tok, "rawData": "{}", "signature": "00"}, nil, 6, 400, ""},
		{"rate limited", "POST", "/login/", map[string]any{"code": "limited"}, nil, 7, 429, ""},
		{"WeChat down", "POST", "/login/", map[string]any{"code": "down"}, nil, 8, 502, ""},
		{"WeChat slow", "POST", "/login/", map[string]any{"code": "slow"}, nil, 8, 504, ""},
		{"too large", "POST", "/login/", map[string]any{"code": strings.Repeat("x", 5000)}, nil, 11, 413, ""},
		{"unsupported type", "POST", "/login/", "code=x", []string{"Content-Type", "text/xml"}, 11, 415, ""},
		{"no route", "GET", "/nope", nil, nil, 1, 404, ""},
		{"wrong method", "GET", "/login/", nil, nil, 1, 405, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(t, c.method, c.path, c.body, c.header...)
			want(t, r, c.code, c.status)
			if c.msg != "" && r.Msg != c.msg {
				t.Fatalf("msg %q, want %q", r.Msg, c.msg)
			}
			if string(r.Data) != "null" {
				t.Fatalf("an error carries data: %s", r.Data)
			}
		})
	}
	if f.users.WriteCount() != 1 { // the one login's user
		t.Fatalf("rejected requests wrote %d times", f.users.WriteCount()-1)
	}
}

// panicking is a UserRepo whose profile update panics.
type panicking struct{ ports.UserRepo }

func (panicking) UpdateUser(context.Context, domain.Identity, func(*domain.User) (bool, error)) (domain.User, error) {
	panic("boom: a bug")
}

func TestPanic_IsCode10WithoutDetails(t *testing.T) {
	f := newFixture(t, func(r ports.UserRepo) ports.UserRepo { return panicking{r} })
	tok := f.login(t, "c1")
	r := f.do(t, "POST", "/getinfo/", map[string]any{"iv": ivText, "encryptedData": sealed(t, goodPayload), "token": tok}, "X-Request-Id", "req-42")
	want(t, r, 10, 500)
	if strings.Contains(r.raw, "boom") {
		t.Fatalf("the panic leaked: %s", r.raw)
	}
	if !strings.Contains(f.logs.String(), "boom") || !strings.Contains(f.logs.String(), "req-42") {
		t.Fatalf("the panic was not logged with its request id: %s", f.logs.String())
	}
}

func TestStorageDown_IsCode9AndReadyzFails(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	f.users.SetErr(domain.Wrap(domain.KindUnavailable, errors.New("connection refused")))
	want(t, f.do(t, "GET", "/api/v1/me", nil, "Authorization", "Bearer "+tok), 9, 503)
	for i := 0; i < 5; i++ {
		want(t, f.do(t, "GET", "/readyz", nil), 9, 503)
	}
	want(t, f.do(t, "GET", "/healthz", nil), 0, 200)
	f.users.SetErr(nil)
	want(t, f.do(t, "GET", "/api/v1/me", nil, "Authorization", "Bearer "+tok), 0, 200)
	// /readyz answers from its check of the last second (on the clock),
	// then sees the store back.
	want(t, f.do(t, "GET", "/readyz", nil), 9, 503)
	f.clock.Advance(999 * time.Millisecond)
	want(t, f.do(t, "GET", "/readyz", nil), 9, 503)
	f.clock.Advance(time.Millisecond)
	want(t, f.do(t, "GET", "/readyz", nil), 0, 200)
	logs := f.logs.String()
	if n, m := strings.Count(logs, `msg="not ready"`), strings.Count(logs, `msg="ready again"`); n != 1 || m != 1 {
		t.Fatalf("logged not ready %d times and ready again %d times, want once each:\n%s", n, m, logs)
	}
}

func TestBody_FormWithoutSlashAndJSONWithoutContentType(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	data := sealed(t, goodPayload)
	form := url.Values{"iv": {ivText}, "encrypedData": {data}, "token": {tok}}
	want(t, f.do(t, "POST", "/getinfo", form), 0, 200)
	// JSON without a content type, as some clients send it.
	want(t, f.do(t, "POST", "/getinfo/", `{"iv":"`+ivText+`","encrypedData":"`+data+`","token":"`+tok+`"}`), 0, 200)
	// Unknown fields are ignored.
	want(t, f.do(t, "POST", "/getinfo/", map[string]any{"iv": ivText, "encrypedData": data, "token": tok, "extra": []int{1}}), 0, 200)
}

func TestResponses_CarryARequestID(t *testing.T) {
	f := newFixture(t, nil)
	req := httptest.NewRequest("GET", "/healthz", nil)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if len(rec.Header().Get("X-Request-Id")) != 16 {
		t.Fatalf("request id %q", rec.Header().Get("X-Request-Id"))
	}
	req.Header.Set("X-Request-Id", "bad id with spaces\n")
	rec = httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if got := rec.Header().Get("X-Request-Id"); strings.Contains(got, " ") {
		t.Fatalf("an unsafe request id was echoed: %q", got)
	}
}

// Log out everywhere: every token of the user stops working, another
// user's does not.
func TestLogout_AllEndsEverySessionOfTheUser(t *testing.T) {
	f := newFixture(t, nil)
	phoneTok, laptopTok := f.login(t, "c1"), f.login(t, "c2") // the same user, o1
	f.wechat.AddCode("c3", "o2", "", key1)
	r := f.do(t, "POST", "/api/v1/login", map[string]any{"code": "c3"})
	var other struct{ Token string }
	_ = json.Unmarshal(r.Data, &other)
	want(t, f.do(t, "POST", "/api/v1/logout", map[string]any{"all": "maybe"}, "Authorization", "Bearer "+phoneTok), 1, 400)
	want(t, f.do(t, "POST", "/api/v1/logout", map[string]any{"all": true}, "Authorization", "Bearer "+phoneTok), 0, 200)
	for _, tok := range []string{phoneTok, laptopTok} {
		want(t, f.do(t, "GET", "/api/v1/me", nil, "Authorization", "Bearer "+tok), 2, 401)
	}
	want(t, f.do(t, "GET", "/api/v1/me", nil, "Authorization", "Bearer "+other.Token), 0, 200)
}

// untouchable is a request body that must not be read.
type untouchable struct{ t *testing.T }

func (u untouchable) Read([]byte) (int, error) {
	u.t.Error("the body was read before the token was checked")
	return 0, io.EOF
}

// A token in the Authorization header is checked before the body is read:
// an unknown one is code 2 whatever the body, on every token route.
func TestAuth_HeaderTokenIsCheckedBeforeTheBody(t *testing.T) {
	f := newFixture(t, nil)
	for _, path := range []string{"/getinfo/", "/api/v1/userinfo", "/api/v1/me/profile", "/api/v1/me/avatar", "/api/v1/me/phone", "/api/v1/logout"} {
		req := httptest.NewRequest("POST", path, untouchable{t})
		req.Header.Set("Content-Type", "application/json")
		if path == "/api/v1/me/avatar" {
			req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
		}
		req.Header.Set("Authorization", "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if rec.Code != 401 || !strings.Contains(rec.Body.String(), `"code":2`) {
			t.Errorf("%s: %d %s, want code 2", path, rec.Code, rec.Body)
		}
	}
}

// Two Authorization headers are no token, even when one of them is valid:
// a proxy in front may act on the other one.
func TestAuth_TwoAuthorizationHeadersAreCode2(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	req := httptest.NewRequest("GET", "/api/v1/me", nil)
	req.Header.Add("Authorization", "Bearer "+tok)
	req.Header.Add("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != 401 || !strings.Contains(rec.Body.String(), `"code":2`) {
		t.Fatalf("two headers: %d %s, want code 2", rec.Code, rec.Body)
	}
	want(t, f.do(t, "GET", "/api/v1/me", nil, "Authorization", "Bearer "+tok), 0, 200)
}
